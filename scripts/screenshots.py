"""Screenshots of Trellis pages, for looking at what a change did.

    .venv/bin/python scripts/screenshots.py --user prescriber /patients/ /accounts/
    .venv/bin/python scripts/screenshots.py --width 820 --height 1180 --user nurse /

Needs a running server (make run) and Debian's Chromium (/usr/bin/chromium). Files go to
screenshots/ (ignored by git).
"""

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="trellis-demo-2026")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=860)
    parser.add_argument("--out", default="screenshots")
    parser.add_argument("--full-page", action="store_true")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        if args.user:
            page.goto(f"{args.base}/accounts/login/")
            page.fill("#id_username", args.user)
            page.fill("#id_password", args.password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
        for path in args.paths:
            page.goto(f"{args.base}{path}")
            page.wait_for_load_state("networkidle")
            name = path.strip("/").replace("/", "_").replace("?", "_") or "home"
            file = out / f"{args.user or 'anon'}-{name}-{args.width}.png"
            page.screenshot(path=str(file), full_page=args.full_page)
            print(file)
        browser.close()


if __name__ == "__main__":
    main()
