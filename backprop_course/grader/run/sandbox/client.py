"""The grader's kernel client: what it accepts from a kernel is capped, and it is prompt.

Caps on what a kernel sends (its code is the student's, and may send anything):

- every ZeroMQ socket of the client (and of the manager) queues at most :data:`QUEUED` messages
  before the grader reads them (``ZMQ_RCVHWM``);
- a message whose frames together are over ``max_message_bytes``, one that does not parse or
  is not signed with the session's key, or whose content is nested deeper than
  :data:`MAX_DEPTH`, is not deserialized: the client hands on a small :data:`DROPPED` message in
  its place, with its parent (so the cell that caused it is known) and why. On the shell
  channel it reads as a failed request.

Each message carries its size on the wire (:data:`MESSAGE_BYTES`), which GradingExecute counts
against its cap per cell. What ZeroMQ holds of a message before the client sees it (a message of
many frames) is the :class:`.watchdog.Watchdog`'s to cap.

Speed: upstream waits 0.2 s of IOPub silence once the kernel is ready (see
:meth:`PromptKernelClient.wait_for_ready`).
"""
from __future__ import annotations

import json
import time
from queue import Empty

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import default

#: the key of a message's size on the wire, in bytes, added to each message the client reads
MESSAGE_BYTES = "grader_bytes"
#: the msg_type of what stands in for a message the client did not accept
DROPPED = "grader_dropped"
#: content nested deeper than this (lists and dicts) is not accepted
MAX_DEPTH = 100
#: messages ZeroMQ may queue per socket before the grader reads them
QUEUED = 64
#: the default cap on one message, in bytes
MAX_MESSAGE_BYTES = 16 * 1024 ** 2


def nested_deeper(value, limit):
    """Whether lists and dicts in ``value`` nest deeper than ``limit`` (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def capped_context(context):
    """``context`` with the cap on queued messages as a default of every socket it makes from now on.

    (Not ZMQ_MAXMSGSIZE: past it libzmq cuts the connection and reconnects, losing what follows
    without a word; here an oversized message is read, counted and said so.)"""
    context.setsockopt(zmq.RCVHWM, QUEUED)
    return context


def _small_json(frame, key):
    """``frame`` (a header) read as JSON when small, and its string ``key``, or None."""
    if len(frame) > 65536:
        return None
    try:
        value = json.loads(frame.bytes if isinstance(frame, zmq.Frame) else frame)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    return value.get(key) if isinstance(value, dict) and isinstance(value.get(key), str) else None


def dropped(parts, size, why):
    """What stands in for a message not accepted: which request it answered and its type, when its
    headers read (unsigned: they only say where the drop is reported, and whether it was output
    that can be cut or something that must fail the cell), and why."""
    request = _small_json(parts[2], "msg_id") if len(parts) > 2 else None  # [signature, header, parent header, ...]
    kind = _small_json(parts[1], "msg_type") if len(parts) > 1 else None
    header = {"msg_type": DROPPED, "msg_id": "", "session": "", "username": "", "date": "", "version": "5.3"}
    return {"header": header, "msg_id": "", "msg_type": DROPPED, "parent_header": {"msg_id": request} if request else {},
            "metadata": {}, "content": {"status": "error", "ename": "MessageDropped", "evalue": why, "traceback": [],
                                        "why": why, "bytes": size, "type": kind},
            "buffers": [], MESSAGE_BYTES: size}


class CappedChannel(AsyncZMQSocketChannel):
    """jupyter_client's channel, accepting what is within the caps (module docstring)."""

    max_bytes = MAX_MESSAGE_BYTES

    async def _recv(self, **kwargs):
        frames = await self.socket.recv_multipart(copy=False, **kwargs)
        size = sum(len(frame) for frame in frames)
        try:
            _, parts = self.session.feed_identities(frames, copy=False)
        except ValueError:
            return dropped([], size, "not a Jupyter message")
        if size > self.max_bytes:
            return dropped(parts, size, f"{size} bytes, over the cap of {self.max_bytes} bytes a message")
        try:
            msg = self.session.deserialize(parts, content=True, copy=False)
        except (ValueError, TypeError, KeyError, RecursionError, UnicodeDecodeError) as error:
            return dropped(parts, size, f"not a message the grader can read ({type(error).__name__})")
        if nested_deeper(msg.get("content"), MAX_DEPTH) or nested_deeper(msg.get("metadata"), MAX_DEPTH):
            return dropped(parts, size, f"nested deeper than {MAX_DEPTH} levels")
        msg[MESSAGE_BYTES] = size
        return msg


class PromptKernelClient(AsyncKernelClient):
    """jupyter_client's kernel client with the caps above, less the 0.2 s of IOPub silence it
    waits for once the kernel is ready (the end of ``KernelClient._async_wait_for_ready``), idle
    time paid by every submission. That wait drains the status messages of the kernel_info
    request; nbclient ignores any message whose parent is not the request it waits on, so they
    may come later.
    """

    shell_channel_class = CappedChannel
    iopub_channel_class = CappedChannel
    stdin_channel_class = CappedChannel
    control_channel_class = CappedChannel

    @default("context")
    def _context_default(self):
        return capped_context(super()._context_default())

    @property
    def max_message_bytes(self):
        """The cap on one message of the kernel: the kernel manager's, else the default."""
        return getattr(self.parent, "max_message_bytes", MAX_MESSAGE_BYTES)

    def _channel(self, channel):
        channel.max_bytes = self.max_message_bytes
        return channel

    @property
    def shell_channel(self):
        """The shell channel, its messages capped."""
        return self._channel(super().shell_channel)

    @property
    def iopub_channel(self):
        """The IOPub channel, its messages capped."""
        return self._channel(super().iopub_channel)

    @property
    def stdin_channel(self):
        """The stdin channel, its messages capped."""
        return self._channel(super().stdin_channel)

    @property
    def control_channel(self):
        """The control channel, its messages capped."""
        return self._channel(super().control_channel)

    async def wait_for_ready(self, timeout=None):
        """Wait until the kernel answers on shell and IOPub is connected, without upstream's idle wait;
        RuntimeError after ``timeout`` seconds."""
        deadline = time.time() + (float("inf") if timeout is None else timeout)
        while True:  # upstream's handshake: a kernel_info reply on shell, then proof that IOPub is connected
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if msg["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)  # upstream's private step: the protocol version
                        break
            if not await self.is_alive():
                why = getattr(self.parent, "why_dead", lambda: "")()
                raise RuntimeError("Kernel died before replying to kernel_info" + (f": {why}" if why else ""))
            if time.time() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:  # drain what IOPub holds now, without waiting for more
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except Empty:
                break
