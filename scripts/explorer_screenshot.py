"""Save a screenshot of the explorer page of an index, one track selected, in headless Chromium.

    python scripts/explorer_screenshot.py INDEX OUT.png [--select ROW] [--map auto|umap|tsne|pca]

Needs Debian's ``chromium`` and ``chromium-driver`` and ``selenium`` (the test extra). It serves
the index as ``mirlearn explore`` does, waits until the map is drawn, clicks the chosen track (its
neighbours are listed and it plays, muted) and saves the page: how the screenshots in the notes
and docs/ are made.
"""

from __future__ import annotations

import argparse
import shutil
import sys


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("index")
    ap.add_argument("out")
    ap.add_argument("--select", type=int, default=0, help="row of the track to click (default: 0)")
    ap.add_argument("--map", default="auto", help="map method (default: auto)")
    ap.add_argument("--size", default="1400,1000", help="window size in pixels (default: 1400,1000)")
    args = ap.parse_args(argv)

    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from mirlearn.explore.server import ExplorerServer
    from mirlearn.similarity.index import TrackIndex

    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        print("needs chromium and chromedriver on PATH (Debian: apt-get install chromium chromium-driver)",
              file=sys.stderr)
        return 2
    index = TrackIndex.load(args.index)
    server = ExplorerServer(index, port=0, method=args.map).start()
    opts = Options()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--mute-audio",
                f"--window-size={args.size}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        driver.get(server.url)
        wait = WebDriverWait(driver, 60)
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
        point = driver.find_element(By.CSS_SELECTOR, f'#map circle[data-i="{args.select}"]')
        # points of a dense map overlap: a synthetic click reaches the chosen one, not its neighbour on top
        driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", point)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#neighbors li")) > 0)
        driver.save_screenshot(args.out)
    finally:
        driver.quit()
        server.shutdown()
    print(f"{args.out}: {len(index)} tracks, track {args.select} ({index.ids[args.select]}) selected")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
