"""The explorer in a real browser: headless Chromium driven by Selenium.

The page loads, the map has one point per track, a click lists the neighbours and plays the
track (the browser fetches the audio with a Range request, answered 206), and the search box
finds a track. Skipped when Chromium, its driver or Selenium are absent (`.ci/run` installs
Debian's ``chromium`` and ``chromium-driver``).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from mirlearn.explore.server import ExplorerServer
from mirlearn.similarity.index import TrackIndex

webdriver = pytest.importorskip("selenium.webdriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium and chromedriver not installed")

N = 12


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("music")
    sr = 22050
    paths = []
    for i in range(N):
        t = np.arange(sr * 2) / sr
        y = 0.3 * np.sin(2 * np.pi * (220 + 40 * i) * t)
        p = root / f"tone {i:02d}.wav"
        sf.write(p, y.astype(np.float32), sr)
        paths.append(str(p))
    rng = np.random.default_rng(1)
    labels = ["low" if i < N // 2 else "high" for i in range(N)]
    V = rng.standard_normal((N, 6)).astype(np.float32) + 3 * np.array([[1 if lab == "low" else -1] * 6
                                                                        for lab in labels], np.float32)
    index = TrackIndex(V, [f"t{i}" for i in range(N)], paths, labels, [None] * N, source={"root": str(root)})
    server = ExplorerServer(index, port=0, k=4, method="pca").start()
    yield server, index
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--autoplay-policy=no-user-gesture-required", "--mute-audio", "--window-size=1400,1000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait(driver, condition, timeout=30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def test_map_click_neighbours_audio_and_search(served, browser, tmp_path):
    from selenium.webdriver.common.by import By

    server, index = served
    browser.get(server.url)
    _wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    circles = browser.find_elements(By.CSS_SELECTOR, "#map circle")
    assert len(circles) == N
    assert [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#legend li")] == ["high", "low"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#precision tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[0].text for r in rows] == ["high", "low", "all"]
    # click track 3: it is selected, its 4 neighbours are listed with distances, and it plays
    target = browser.find_element(By.CSS_SELECTOR, '#map circle[data-i="3"]')
    target.click()
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#neighbors li")) == 4)
    assert browser.find_element(By.ID, "sel-name").text == "tone 03.wav"
    listed = [int(li.get_attribute("data-i")) for li in browser.find_elements(By.CSS_SELECTOR, "#neighbors li")]
    expected = index.query(index.vectors[[3]], k=4, exclude=[[3]])[0][0].tolist()
    assert listed == expected
    _wait(browser, lambda d: d.execute_script("const p = document.getElementById('player'); "
                                              "return p.currentTime > 0 && p.readyState >= 2;"))
    assert browser.execute_script("return document.getElementById('player').src").endswith("/audio/3")
    assert any(path == "/audio/3" and status == 206 and rng for path, status, rng in server.requests)
    # a neighbour's play button plays that neighbour
    browser.find_elements(By.CSS_SELECTOR, "#neighbors li button")[0].click()
    _wait(browser, lambda d: d.execute_script("return document.getElementById('player').src")
          .endswith(f"/audio/{expected[0]}"))
    # hovering names a track
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).move_to_element(browser.find_element(By.CSS_SELECTOR, '#map circle[data-i="7"]')).perform()
    _wait(browser, lambda d: d.find_element(By.ID, "tooltip").text == "tone 07.wav (high)")
    # the search box finds a track by name, and choosing it selects it
    box = browser.find_element(By.ID, "search")
    box.send_keys("tone 10")
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#matches li")) == 1)
    browser.find_element(By.CSS_SELECTOR, "#matches li").click()
    _wait(browser, lambda d: d.find_element(By.ID, "sel-name").text == "tone 10.wav")
    browser.save_screenshot(str(tmp_path / "explorer.png"))
    assert (tmp_path / "explorer.png").stat().st_size > 10_000


def test_the_static_export_works_from_disk(served, browser, tmp_path):
    from selenium.webdriver.common.by import By

    from mirlearn.explore.export import export_static

    _, index = served
    page = export_static(index, tmp_path / "site", k=3, method="pca")
    browser.get(page.as_uri())
    _wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#map circle")) == N
    browser.find_element(By.CSS_SELECTOR, '#map circle[data-i="0"]').click()
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#neighbors li")) == 3)
    assert browser.execute_script("return document.getElementById('player').src").endswith("audio/0.wav")
