"""Shared by the failover benchmarks: probes started at a fixed pace, each on its own worker, and what they saw."""
from concurrent.futures import ThreadPoolExecutor
import threading, time

class Prober:
    """Calls probe() every `interval` s on a worker of its own, so a probe that times out (a SYN lost while nobody
    answers for the VIP) delays none of the next ones; at most `limit` probes. `results`: (start, *probe())."""

    def __init__(self, probe, limit, interval=0.005):
        self.results, self._stop = [], threading.Event()
        def one():
            start = time.monotonic()
            outcome = probe()
            self.results.append((start, *(outcome if isinstance(outcome, tuple) else (outcome,))))
        def loop():
            with ThreadPoolExecutor(max_workers=256) as pool:
                for _ in range(limit):
                    if self._stop.is_set():
                        break
                    pool.submit(one)
                    time.sleep(interval)
        self._thread = threading.Thread(target=loop)
        self._thread.start()

    @property
    def running(self):
        return self._thread.is_alive()

    def stop(self):
        """Stops starting probes, waits for those under way, and returns the results by start time."""
        self._stop.set()
        self._thread.join()
        return sorted(self.results)


def outage(results):
    """(failed probes, ms without service) of results sorted by start, each (start, good, ...) where good is truthy on
    success: without service runs from the start of the first failed probe to the start of the first good one after
    the last failure (to the last probe's start when none came back); 0 ms when no probe failed."""
    failed = [r[0] for r in results if not r[1]]
    if not failed:
        return 0, 0.0
    back = next((r[0] for r in results if r[1] and r[0] > failed[-1]), results[-1][0])
    return len(failed), (back - failed[0]) * 1000
