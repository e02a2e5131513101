"""Which Envoy thread logged what, and in which order: reads the Envoy log
given as first argument.

Envoy's default log line starts `[time][thread id][level][logger]`. The main
thread is the one that logs `initializing epoch` at start-up. Exits 1 unless
the receiver registered its queue and dequeued every item on the main thread
and the senders enqueued on other threads (the workers). With `--order`
instead: exits 1 unless both senders were configured before the receiver
registered its queue.
"""

import re
import sys

LINE = re.compile(r"^\[[^\]]*\]\[(\d+)\]")


def threads(lines, needle):
    return {m.group(1) for line in lines if needle in line for m in [LINE.match(line)] if m}


def first(lines, needle):
    return next((n for n, line in enumerate(lines) if needle in line), None)


def order(lines):
    senders = [first(lines, f"{name} sender: shared_queue: sender to queue")
               for name in ("http_sender", "tcp_sender")]
    registered = first(lines, "shared_queue: receiver registered queue")
    print(f"first sender configured at lines {senders}, receiver registered at line {registered}")
    if None in senders or registered is None or max(senders) > registered:
        return 1
    print("senders configured before the receiver registered")
    return 0


def main():
    with open(sys.argv[1], encoding="utf-8", errors="replace") as log:
        lines = log.readlines()
    if sys.argv[2:] == ["--order"]:
        return order(lines)
    main_thread = threads(lines, "initializing epoch")
    registered = threads(lines, "shared_queue: receiver registered queue")
    dequeued = threads(lines, "shared_queue: dequeued")
    enqueued = threads(lines, "shared_queue: enqueued")
    print(f"main thread {sorted(main_thread)}; registered on {sorted(registered)}; "
          f"dequeued on {sorted(dequeued)}; enqueued on {sorted(enqueued)}")
    ok = len(main_thread) == 1 and registered == main_thread and dequeued == main_thread
    ok = ok and bool(enqueued) and not enqueued & main_thread
    if ok:
        print("receiver: main thread; senders: worker threads")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
