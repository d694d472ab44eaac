#!/usr/bin/env python3
"""Submit a form of a page in headless Chromium, as a person would, and print the page the browser lands on.

`chromium --dump-dom` cannot click, so this drives Chromium through the DevTools protocol over
`--remote-debugging-pipe`: Chromium reads commands as NUL-terminated JSON on its fd 3 and writes answers and events
on its fd 4. Python's standard library only.

    ALOFT_CONSOLE_AUTH='Basic ...' cdp_submit_form.py --chromium /usr/bin/chromium --profile DIR \
        --url http://127.0.0.1:8080/dashboard --form 'form[action="/dashboard/rollouts"]' \
        --fields '{"channel": "stable", "version": "1.1.0", "phases": "25,100"}' [--screenshot form.png]

The Authorization header (from the environment, so it is not on a command line) is sent with every request of the tab
(Network.setExtraHTTPHeaders). The fields are set and the form's submit button clicked with Runtime.evaluate; the
submission itself is the browser's own, so the server sees what a browser sends (Sec-Fetch-Site: same-origin, the
form token the page carries). `--screenshot` saves the page with the form filled in, before it is submitted.
The landing page's HTML goes to stdout, its URL to stderr; exit status 1 and a message on stderr on any failure.
"""

import argparse
import base64
import fcntl
import json
import os
import select
import subprocess
import sys
import time


class DevTools:
    """One Chromium, spoken to over its pipe: commands by id, events kept until waited for."""

    def __init__(self, chromium, profile, timeout):
        self.deadline = time.monotonic() + timeout
        commands_read, self.commands = os.pipe()
        self.answers, answers_write = os.pipe()
        # Chromium wants them as its fds 3 and 4; moved above 10 first, so the dup2 below cannot clobber one with the other.
        high_read, high_write = move_high(commands_read), move_high(answers_write)

        def child_fds():
            os.dup2(high_read, 3)
            os.dup2(high_write, 4)

        self.process = subprocess.Popen(
            [
                chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--hide-scrollbars", "--remote-debugging-pipe", f"--user-data-dir={profile}", "--window-size=1280,1400", "about:blank",
            ],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4, high_read, high_write), preexec_fn=child_fds,
        )
        os.close(high_read)
        os.close(high_write)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def close(self):
        try:
            self.process.kill()
            self.process.wait(timeout=10)
        finally:
            os.close(self.commands)
            os.close(self.answers)

    def send(self, method, params=None, session=None):
        """The result of a command; an error answer raises."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        while True:
            answer = self.read()
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            if "method" in answer:
                self.events.append(answer)

    def wait_for(self, method, session=None):
        """The first event `method` (of `session`) not waited for yet."""
        while True:
            for index, event in enumerate(self.events):
                if event["method"] == method and (session is None or event.get("sessionId") == session):
                    return self.events.pop(index)
            answer = self.read()
            if "method" in answer:
                self.events.append(answer)

    def read(self):
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.answers], [], [], left)
            if ready:
                chunk = os.read(self.answers, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"Chromium closed its pipe (exit status {self.process.poll()})")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)


def move_high(fd):
    """`fd` as a number of 10 or more (F_DUPFD), the original closed."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


# Sets each field (a checkbox by truthiness).
FILL = """
(() => {
  const form = document.querySelector(%(form)s);
  if (!form) return "no form " + %(form)s;
  for (const [name, value] of Object.entries(%(fields)s)) {
    const input = form.elements[name];
    if (!input) return "no field " + name;
    if (input.type === "checkbox") input.checked = Boolean(value); else input.value = value;
  }
  form.scrollIntoView();
  return "ok";
})()
"""

# Clicks the form's submit button: the browser's own submission, its validation, headers and all.
SUBMIT = """
(() => {
  const button = document.querySelector(%(form)s).querySelector('button[type="submit"], input[type="submit"]');
  if (!button) return "no submit button";
  button.click();
  return "ok";
})()
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--profile", required=True, help="a scratch --user-data-dir")
    parser.add_argument("--url", required=True)
    parser.add_argument("--form", required=True, help="CSS selector of the form")
    parser.add_argument("--fields", default="{}", help="JSON object: field name to value")
    parser.add_argument("--screenshot", help="PNG of the page with the form filled in")
    parser.add_argument("--timeout", type=float, default=90)
    args = parser.parse_args()
    fields = json.loads(args.fields)

    tools = DevTools(args.chromium, args.profile, args.timeout)
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        tools.send("Page.enable", session=session)
        tools.send("Network.enable", session=session)
        auth = os.environ.get("ALOFT_CONSOLE_AUTH")
        if auth:
            tools.send("Network.setExtraHTTPHeaders", {"headers": {"Authorization": auth}}, session=session)

        tools.send("Page.navigate", {"url": args.url}, session=session)
        tools.wait_for("Page.loadEventFired", session)

        def evaluate(expression):
            result = tools.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
            if "exceptionDetails" in result:
                raise RuntimeError(f"script failed: {result['exceptionDetails']}")
            return result["result"].get("value")

        values = {"form": json.dumps(args.form), "fields": json.dumps(fields)}
        filled = evaluate(FILL % values)
        if filled != "ok":
            raise RuntimeError(filled)
        if args.screenshot:  # filled in, not yet sent: the picture shows what is submitted
            shot = tools.send("Page.captureScreenshot", {"format": "png"}, session=session)
            with open(args.screenshot, "wb") as png:
                png.write(base64.b64decode(shot["data"]))
        submitted = evaluate(SUBMIT % values)
        if submitted != "ok":
            raise RuntimeError(submitted)
        tools.wait_for("Page.loadEventFired", session)

        html = evaluate("document.documentElement.outerHTML")
        url = evaluate("location.href")
        print(url, file=sys.stderr)
        sys.stdout.write(html)
    finally:
        tools.close()


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # one line for the test's message, not a traceback
        print(f"cdp_submit_form: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
