"""Deploys a hotfix, sends healthy traffic, then a sustained error spike, and reports how long
after the trigger's window closed the automatic rollback started. Used by bench/health.sh.
Usage: trigger_latency.py BIN SERVER WINDOW_SECONDS INTERVAL_SECONDS (GREENLIGHT_TOKEN: admin)."""
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime

BIN, SERVER, WINDOW, INTERVAL = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
ADMIN = os.environ["GREENLIGHT_TOKEN"]


def cli(token, *args):
    env = dict(os.environ, GREENLIGHT_TOKEN=token, GREENLIGHT_SERVER=SERVER)
    out = subprocess.run([BIN, *args, "--json"], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{args}: {out.stderr}")
    return json.loads(out.stdout) if out.stdout.strip() else None


def post(samples):
    body = json.dumps({"samples": samples}).encode()
    request = urllib.request.Request(f"{SERVER}/api/v1/metrics", body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {ADMIN}"})
    urllib.request.urlopen(request).read()


error_share = 0.0
stop = False


def traffic():
    n = 0
    while not stop:
        samples = []
        for i in range(50):
            n += 1
            failed = (n % 100) < error_share * 100
            samples.append({"kind": "request", "endpoint": "assignments",
                            "outcome": "failure" if failed else "success", "latency_ms": 80})
        post(samples)
        time.sleep(0.2)


lead = cli(ADMIN, "user", "add", "erin", "--role", "engineering_lead")["token"]["token"]
qa = cli(ADMIN, "user", "add", "quinn", "--role", "qa_lead")["token"]["token"]
cli(ADMIN, "environments", "baseline", "--env", "production", "1.3.0")
cli(lead, "hotfix", "start", "--title", "bench", "--trigger", "score_recording_failure")
for gate in [g["name"] for g in cli(ADMIN, "policy", "show")["gates"]["hotfix"]]:
    cli(qa, "gate", "record", "1.3.1", "--phase", "hotfix", "--gate", gate, "--pass")
cli(lead, "deploy", "1.3.1", "--env", "staging")
cli(lead, "deployment", "complete", "1.3.1")
cli(lead, "approve", "1.3.1", "--role", "engineering_lead")
cli(qa, "approve", "1.3.1", "--role", "qa_lead")
threading.Thread(target=traffic, daemon=True).start()
time.sleep(2)
cli(lead, "deploy", "1.3.1", "--env", "production")
cli(lead, "deployment", "complete", "1.3.1")
time.sleep(5)
spike = time.time()
error_share = 0.5
while True:
    events = cli(lead, "events", "--release", "1.3.1", "--type", "rollback_initiated")
    if events:
        break
    if time.time() - spike > WINDOW + 6 * INTERVAL:
        sys.exit("no automatic rollback")
    time.sleep(0.1)
stop = True
started = datetime.fromisoformat(events[0]["at"].replace("Z", "+00:00")).timestamp()
# Samples are stamped with their 10 s bucket, so the window is full once the spike's first
# whole bucket plus the window has passed; report against the spike start plus the window.
late = started - (spike + WINDOW)
print(f"| sqlite | trigger window closed -> rollback started (window {WINDOW:.0f} s, interval {INTERVAL:.0f} s) | {late:.1f} s (target: under {INTERVAL:.0f} s) |")
print(f"reason: {events[0]['body']['rollback_reason']}")
