#!/usr/bin/env python3
"""Screenshots of UI pages at 1280 and 390 px from headless Debian chromium (pip install selenium), signed in.

Usage: scripts/screenshots.py BASE_URL USER PASSWORD OUT_DIR PATH [PATH ...]
Each PATH becomes OUT_DIR/<name>-1280.png and -390.png (full page height). Console errors are printed.
"""
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def driver():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--lang=zh-CN"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def main():
    base, user, password, out, *paths = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    d = driver()
    try:
        d.set_window_size(1280, 900)
        d.get(base + "/login")
        d.find_element(By.NAME, "username").send_keys(user)
        d.find_element(By.NAME, "password").send_keys(password)
        d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        # The sign-in must land before the first page is asked for, or its redirect wins.
        WebDriverWait(d, 10).until(lambda drv: "/login" not in drv.current_url)
        for path in paths:
            name = path.strip("/").replace("/", "_").replace("?", "_") or "home"
            for width in (1280, 390):
                d.set_window_size(width, 900)
                d.get(base + path)
                d.implicitly_wait(1)
                height = d.execute_script("return document.documentElement.scrollHeight")
                wide = d.execute_script("return document.documentElement.scrollWidth")
                d.set_window_size(width, min(max(height, 600), 6000))
                d.save_screenshot(os.path.join(out, f"{name}-{width}.png"))
                if wide > width:
                    print(f"{path} at {width}px is {wide}px wide")
            for entry in d.get_log("browser"):
                if entry["level"] in ("SEVERE", "WARNING"):
                    print(path, entry["level"], entry["message"])
    finally:
        d.quit()


if __name__ == "__main__":
    main()
