#!/usr/bin/python3
"""The hub's status page in a real browser (headless Chromium, Selenium).

Starts `hx serve` on loopback over a temporary folder store, enrolls a
device whose name is markup (<script>...), pushes from it, makes an admin
token with `hx serve admin-token`, signs in on the page, sees the device
(as text: the script never runs), pushes again and sees the page update
(polling). A wrong token is refused on the page. Every wait is on a
condition, with a generous deadline.

Usage: status_page_browser_test.py HX_BINARY
Exit 0: passed; 77: skipped (no chromium / chromedriver / selenium; run
scripts/deps.sh); anything else: failed. Run with /usr/bin/python3 (Debian's
python3-selenium).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
DEADLINE_S = 60
HOSTILE_NAME = "<script>window.hxPwned=1</script>"


def skip(why):
    print("SKIPPED: " + why + " (install with scripts/deps.sh: chromium chromium-driver "
          "python3-selenium)")
    sys.exit(SKIP)


def find_chromedriver():
    for path in ("/usr/bin/chromedriver", shutil.which("chromedriver") or ""):
        if path and os.access(path, os.X_OK):
            return path
    return None


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    skip("python3-selenium is not installed")


def run(hx, *args):
    env = dict(os.environ, HX_PASSPHRASE="")
    done = subprocess.run([hx, *args], capture_output=True, text=True, env=env, timeout=120)
    if done.returncode != 0:
        raise AssertionError("hx %s failed (%d):\n%s%s" % (" ".join(args), done.returncode,
                                                           done.stdout, done.stderr))
    return done.stdout


def last_line(text):
    return text.strip().splitlines()[-1]


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    hx = sys.argv[1]
    chromium = shutil.which("chromium")
    driver_path = find_chromedriver()
    if not chromium or not driver_path:
        skip("chromium or chromedriver is not installed")

    work = tempfile.mkdtemp(prefix="hx_status_browser_")
    hub = None
    driver = None
    try:
        store = os.path.join(work, "store")
        os.makedirs(store)
        hub = subprocess.Popen([hx, "serve", "--store", store, "--insecure-listen", "127.0.0.1:0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = hub.stdout.readline()
        if "listening on " not in line:
            raise AssertionError("hx serve did not start: %r" % line)
        url = line.strip().split("listening on ")[1]
        address = url.split("://")[1]

        code = last_line(run(hx, "serve", "enroll", "--store", store, "--vault", "notes"))
        device = os.path.join(work, "device")
        run(hx, "sync", "init", device, "hx://%s/notes" % address, "--enroll", code,
            "--device-name", HOSTILE_NAME, "--no-encryption")
        with open(os.path.join(device, "one.txt"), "w") as f:
            f.write("one")
        run(hx, "sync", "push", device)
        token = json.loads(run(hx, "serve", "admin-token", "--store", store, "--expires", "1h",
                               "--json"))["token"]

        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--user-data-dir=" + os.path.join(work, "chromium")):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        wait = WebDriverWait(driver, DEADLINE_S)

        driver.get(url + "/")
        wait.until(lambda d: d.find_element(By.ID, "login-form").is_displayed())

        # A wrong token is refused on the page.
        driver.find_element(By.ID, "token").send_keys("hxt1.00")
        driver.find_element(By.ID, "login").click()
        wait.until(lambda d: d.find_element(By.ID, "login-error").text != "")

        driver.find_element(By.ID, "token").send_keys(token)
        driver.find_element(By.ID, "login").click()
        names = '//section[@data-vault="notes"]//td[@class="device-name"]'
        wait.until(lambda d: [e.text for e in d.find_elements(By.XPATH, names)] == [HOSTILE_NAME])
        # Shown as text, never run; the token is in no URL.
        assert driver.execute_script("return window.hxPwned === undefined"), "the name ran"
        assert token not in driver.current_url
        pushes = '//section[@data-vault="notes"]//tr[@class="push"]'
        wait.until(lambda d: len(d.find_elements(By.XPATH, pushes)) >= 1)
        before = len(driver.find_elements(By.XPATH, pushes))
        first = driver.find_elements(By.XPATH, pushes)[0].text
        assert HOSTILE_NAME in first, first

        # Another push: the page shows it without a reload.
        with open(os.path.join(device, "two.txt"), "w") as f:
            f.write("two")
        run(hx, "sync", "push", device)
        wait.until(lambda d: len(d.find_elements(By.XPATH, pushes)) > before)
        assert driver.find_elements(By.XPATH, pushes)[0].text != first
        assert driver.execute_script("return window.hxPwned === undefined"), "the name ran"
        print("PASSED: signed in, saw the device and the page update after a push")
        return 0
    finally:
        if driver is not None:
            driver.quit()
        if hub is not None:
            hub.terminate()
            try:
                hub.wait(timeout=30)
            except subprocess.TimeoutExpired:
                hub.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
