"""Headless Chromium driven over the Chrome DevTools Protocol (a WebSocket), for page tests.

Chromium comes from Debian (``scripts/install-test-deps.sh``); :func:`chromium_path` is None
when it is not installed and cannot be installed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)
INSTALL = Path(__file__).resolve().parents[2] / "scripts" / "install-test-deps.sh"


def chromium_path(install: bool = True) -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and install and INSTALL.exists():
        subprocess.run(["bash", str(INSTALL)], check=False, capture_output=True, timeout=900)
        found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found


class Browser:
    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.profile = tempfile.mkdtemp(prefix="cc-chromium-")
        self.process: subprocess.Popen[bytes] | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._next_id = 0

    async def __aenter__(self) -> Browser:
        self.process = subprocess.Popen(
            [self.executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile) / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip():
                break
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        self._http = aiohttp.ClientSession()
        async with self._http.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        page = next(t for t in targets if t.get("type") == "page")
        self._ws = await self._http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        await self.send("Page.enable")
        await self.send("Runtime.enable")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._http is not None:
            await self._http.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        assert self._ws is not None
        self._next_id += 1
        ident = self._next_id
        await self._ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads((await self._ws.receive()).data)
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page error: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    async def viewport(self, width: int, height: int) -> None:
        """Lay the page out at this size (a phone below ~480 px wide: touch and a mobile UA
        width)."""
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 480,
        )

    async def screenshot(self, path: Path, width: int, height: int) -> None:
        """A PNG of the page at ``width`` x ``height`` into ``path``."""
        await self.viewport(width, height)
        await self.evaluate(  # two frames: the new layout is painted
            "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        shot = await self.send("Page.captureScreenshot", format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    KEYS = {  # key → (code, Windows virtual key code, text typed)
        "Tab": ("Tab", 9, ""),
        "Enter": ("Enter", 13, "\r"),
        "ArrowDown": ("ArrowDown", 40, ""),
        "a": ("KeyA", 65, "a"),
    }

    async def press(self, key: str, *, alt: bool = False, shift: bool = False) -> None:
        """A key pressed and released as by the keyboard (focus moves, buttons activate)."""
        code, virtual, text = self.KEYS[key]
        modifiers = (1 if alt else 0) | (8 if shift else 0)
        typed = text if not alt else ""
        await self.send(
            "Input.dispatchKeyEvent",
            type="keyDown" if typed else "rawKeyDown",
            key=key,
            code=code,
            windowsVirtualKeyCode=virtual,
            modifiers=modifiers,
            text=typed,
        )
        await self.send(
            "Input.dispatchKeyEvent",
            type="keyUp",
            key=key,
            code=code,
            windowsVirtualKeyCode=virtual,
            modifiers=modifiers,
        )

    async def type_text(self, text: str) -> None:
        """Text typed into the focused field."""
        await self.send("Input.insertText", text=text)

    async def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Poll a JavaScript expression until it is truthy; return its value (a DOM node comes
        back as ``{}``: test for elements with ``!!``)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                value = await self.evaluate(expression)
            except RuntimeError:  # e.g. the page is still loading
                value = None
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {expression}")
            await asyncio.sleep(0.2)

    async def sign_in_to_desk(self, token: str) -> None:
        """On the desk page: the sign-in form filled and sent (the token never in a URL), then
        the agent's stream open; a failure says what the page shows."""
        form, token_field, signin = (
            f"document.querySelector({json.dumps(s)})"
            for s in ("#signin-form", "#token", "#signin")
        )
        await self.wait_for(f"!!{form} && !{signin}.hidden")
        await self.evaluate(f"{token_field}.value = {token!r}")
        await self.evaluate(f"{form}.requestSubmit()")
        try:
            await self.wait_for("document.body.dataset.stream === 'open'")
        except AssertionError as exc:
            shown = await self.evaluate(
                "JSON.stringify({data: {...document.body.dataset}, signin: !"
                f"{signin}.hidden, text: document.body.innerText.slice(0, 400)}})"
            )
            raise AssertionError(f"{exc}; the page: {shown}") from exc
