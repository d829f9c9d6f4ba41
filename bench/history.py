"""Writes a `git fast-import` stream of N commits shaped like a product's history: Conventional
Commits of every type with scopes, squash-merge PR numbers, trailers (Audience, Release-Note,
Co-authored-by, Fixes), some free-form messages and reverts, each commit touching one file."""
import random
import sys

n = int(sys.argv[1])
rng = random.Random(42)
types = ["feat", "fix", "fix", "chore", "docs", "refactor", "perf", "test", "ci", "build"]
scopes = ["scores", "auth", "lessons", "games", "assignments", "db", "ui", None]
words = "score lesson teacher student game rhythm tempo chord sync cache offline reminder".split()
out = sys.stdout.buffer
t = 1_700_000_000
for i in range(1, n + 1):
    t += rng.randint(60, 3600)
    kind = rng.choice(types)
    scope = rng.choice(scopes)
    head = f"{kind}({scope})" if scope else kind
    if rng.random() < 0.02:
        head += "!"
    summary = " ".join(rng.choice(words) for _ in range(rng.randint(3, 8)))
    if rng.random() < 0.08:
        message = f"Update {summary}"
    else:
        message = f"{head}: {summary}"
    if rng.random() < 0.5:
        message += f" (#{i})"
    body = []
    if rng.random() < 0.3:
        body.append("Some longer explanation of the change, wrapped\nover two lines.")
    trailers = []
    if rng.random() < 0.2:
        trailers.append("Audience: " + rng.choice(["teachers", "students, teachers", "all", "internal"]))
    if rng.random() < 0.1:
        trailers.append("Release-Note: " + summary.capitalize() + ".")
    if rng.random() < 0.1:
        trailers.append("Co-authored-by: Sam Lee <sam@mlc.invalid>")
    if rng.random() < 0.1:
        trailers.append(f"Fixes: #{rng.randint(1, 9999)}")
    if trailers:
        body.append("\n".join(trailers))
    text = "\n\n".join([message] + body) + "\n"
    data = text.encode()
    content = f"{i}\n".encode()
    path = f"src/{scope or 'core'}/file{rng.randint(0, 199)}.rs"
    out.write(b"commit refs/heads/main\n")
    out.write(f"mark :{i}\n".encode())
    out.write(f"author Dev {i % 17} <dev{i % 17}@mlc.invalid> {t} +0000\n".encode())
    out.write(f"committer Dev {i % 17} <dev{i % 17}@mlc.invalid> {t} +0000\n".encode())
    out.write(f"data {len(data)}\n".encode() + data)
    if i > 1:
        out.write(f"from :{i - 1}\n".encode())
    out.write(f"M 100644 inline {path}\ndata {len(content)}\n".encode() + content + b"\n")
