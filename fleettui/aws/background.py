"""A daemon thread that owns an asyncio event loop, for async work that must not run on the caller's loop.

The TUI refreshes through it: aiobotocore parses every AWS response (EC2's XML: about 0.8 ms of CPU per host)
on the loop that awaits the call, so a large refresh run on the UI's loop would freeze the UI. Here it freezes
only this thread's loop, and the caller awaits the result with
``await asyncio.wrap_future(background.submit(coro))``.

    bg = BackgroundLoop()
    gw = bg.enter(ctx.gateway).result()       # a Gateway opened (and later closed) on the background loop
    snap = bg.submit(fetch_snapshot(gw, config)).result()
    bg.close()                                # cancel what still runs, close gw, stop the loop, join

Objects made on the background loop (the Gateway and its clients) must be used only by coroutines submitted
to it. Nothing here knows about the UI: code running on the loop must not touch the caller's objects.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any, Callable, Coroutine, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """An event loop running in its own daemon thread from construction until :meth:`close`."""

    def __init__(self, name: str = "fleettui-background") -> None:
        self._loop = asyncio.new_event_loop()
        self._stack = AsyncExitStack()       # contexts entered with enter(); exited on the loop by close()
        self._lock = threading.Lock()
        self._closing = False
        self.close_error: BaseException | None = None   # an error while exiting the entered contexts
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the background loop. Cancelling the returned future cancels the task."""
        with self._lock:
            if self._closing:
                coro.close()
                raise RuntimeError("the background loop is closed")
            return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def enter(self, make: Callable[[], AbstractAsyncContextManager[T]]) -> concurrent.futures.Future[T]:
        """Create (``make()``, on the loop) and enter an async context manager; :meth:`close` exits it."""
        async def _enter() -> T:
            return await self._stack.enter_async_context(make())
        return self.submit(_enter())

    def close(self, timeout: float = 5.0) -> bool:
        """Cancel the tasks still running, exit the entered contexts, stop the loop and join the thread.

        Waits at most ``timeout`` seconds: code that blocks the loop (CPU work, ``time.sleep``) cannot be
        interrupted, so a thread still busy then is left to finish on its own (it is a daemon). Returns whether
        the thread has ended. Idempotent.
        """
        with self._lock:
            if not self._closing:
                self._closing = True
                self._loop.call_soon_threadsafe(self._loop.stop)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    # -------------------------------------------------------------------------------------------- the thread
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
            self._loop.run_until_complete(self._shutdown())
        finally:
            self._loop.close()

    async def _shutdown(self) -> None:
        me = asyncio.current_task()
        for _ in range(3):      # a cancelled task may start another while it unwinds
            tasks = [t for t in asyncio.all_tasks() if t is not me]
            if not tasks:
                break
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self._stack.aclose()
        except Exception as e:  # noqa: BLE001 - nobody is left to raise it to; kept for whoever asks
            self.close_error = e
        await self._loop.shutdown_asyncgens()
        await self._loop.shutdown_default_executor()
