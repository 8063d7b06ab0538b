"""Periscope's training-side helper: one stdlib-only file.

Executors started by Periscope have it on PYTHONPATH, so training code can::

    import periscope
    ctx = periscope.init()
    lr = ctx.hparams.get("lr", 0.1)
    start = 0
    if ctx.latest_checkpoint:                      # a restarted trial resumes
        start = int(open(os.path.join(ctx.latest_checkpoint, "step")).read())
    for step in range(start + 1, (ctx.max_length or 100) + 1):
        loss = train_one_step(lr)
        ctx.report_training_metrics(step, {"loss": loss})
        if step % 10 == 0:
            ctx.report_validation_metrics(step, {"loss": evaluate()})
            with ctx.checkpoint(step, {"framework": "numpy"}) as path:
                open(os.path.join(path, "step"), "w").write(str(step))
        if ctx.should_stop():
            break
"""

import contextlib
import http.client
import json
import os
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
import uuid as _uuid

__all__ = ["init", "Context", "Distributed", "PeriscopeError"]


class PeriscopeError(Exception):
    """The server refused a report; the message is the server's."""


# A server that restarts, or a database that goes away for a moment, must not end the training: such failures
# are retried with a growing pause, for up to PERISCOPE_RETRY_SECONDS (default 300) in all.
_RETRY_STATUSES = (500, 502, 503, 504)
_FIRST_PAUSE = 0.25
_LONGEST_PAUSE = 10.0


class _Retry(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Distributed:
    """This executor's place in the gang, from the variables the launcher sets."""

    def __init__(self, env):
        self.rank = int(env.get("RANK", "0"))
        self.local_rank = int(env.get("LOCAL_RANK", "0"))
        self.size = int(env.get("WORLD_SIZE", "1"))
        self.master_addr = env.get("MASTER_ADDR", "127.0.0.1")
        self.master_port = int(env.get("MASTER_PORT", "0") or 0)

    @property
    def is_chief(self):
        return self.rank == 0


class Context:
    def __init__(self, env=None):
        env = dict(os.environ if env is None else env)
        self._api = env.get("PERISCOPE_API", "").rstrip("/")
        self._token = env.get("PERISCOPE_TOKEN")
        self._ca_file = env.get("PERISCOPE_CA_FILE")
        self._retry_seconds = float(env.get("PERISCOPE_RETRY_SECONDS") or 300)
        self.trial_id = int(env["PERISCOPE_TRIAL_ID"]) if env.get("PERISCOPE_TRIAL_ID") else None
        self.experiment_id = env.get("PERISCOPE_EXPERIMENT_ID")
        self.hparams = json.loads(env.get("PERISCOPE_HPARAMS") or "{}")
        self.checkpoint_dir = env.get("PERISCOPE_CHECKPOINT_DIR")
        self.latest_checkpoint = env.get("PERISCOPE_LATEST_CHECKPOINT") or None
        self.distributed = Distributed(env)

    # -- metrics -----------------------------------------------------------------------------------
    def report_training_metrics(self, steps_completed, metrics):
        self._report("training", [(steps_completed, metrics)])

    def report_validation_metrics(self, steps_completed, metrics):
        self._report("validation", [(steps_completed, metrics)])

    def report_metrics_batch(self, group, reports):
        """Many reports in one request: ``reports`` is a list of ``(steps_completed, {name: value})``."""
        self._report(group, list(reports))

    def _report(self, group, reports):
        body = {"group": group, "reports": [{"stepsCompleted": int(s), "metrics": {k: float(v) for k, v in m.items()}} for s, m in reports]}
        self._call("POST", "/api/v1/trials/%d/metrics" % self._trial(), body)

    # -- checkpoints -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def checkpoint(self, steps_completed, metadata=None):
        """Yields a fresh directory to write the checkpoint into; reports it when the block ends without error."""
        if not self.checkpoint_dir:
            raise PeriscopeError("PERISCOPE_CHECKPOINT_DIR is not set: not running under Periscope?")
        uuid = str(_uuid.uuid4())
        path = os.path.join(self.checkpoint_dir, uuid)
        os.makedirs(path)
        yield path
        # A retry of a report whose answer was lost finds it reported already: that is success.
        self._call("POST", "/api/v1/trials/%d/checkpoints" % self._trial(), {"uuid": uuid, "stepsCompleted": int(steps_completed), "metadata": metadata or {}}, done_if_conflict_on_retry=True)
        self.latest_checkpoint = path

    # -- searcher ----------------------------------------------------------------------------------
    @property
    def max_length(self):
        """How long to train (steps, or the searcher's time metric); None when no searcher sets a budget."""
        return self._searcher()["maxLength"]

    def should_stop(self):
        """True once the searcher (or a cancel) wants this trial to stop: save and exit soon after."""
        return bool(self._searcher()["shouldStop"])

    def _searcher(self):
        return self._call("GET", "/api/v1/trials/%d/searcher" % self._trial())

    # -- transport ---------------------------------------------------------------------------------
    def _trial(self):
        if self.trial_id is None:
            raise PeriscopeError("PERISCOPE_TRIAL_ID is not set: not running under Periscope?")
        return self.trial_id

    def _tls(self):
        # A server with a self-signed certificate hands its executors the PEM file to trust it with.
        if not self._ca_file or not self._api.startswith("https:"):
            return None
        return ssl.create_default_context(cafile=self._ca_file)

    def _call(self, method, path, body=None, done_if_conflict_on_retry=False):
        """One request, retried while the server cannot be reached or answers 5xx; calls run one at a time,
        so reports keep their order."""
        if not self._api:
            raise PeriscopeError("PERISCOPE_API is not set: not running under Periscope?")
        deadline = time.monotonic() + self._retry_seconds
        pause = _FIRST_PAUSE
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once(method, path, body)
            except _Retry as retry:
                if time.monotonic() + pause > deadline:
                    raise PeriscopeError("%s %s: gave up after %d attempts: %s" % (method, path, attempt, retry.reason)) from None
                if attempt == 1:
                    sys.stderr.write("periscope: %s %s failed (%s); retrying for up to %d s\n" % (method, path, retry.reason, self._retry_seconds))
                time.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE)
            except PeriscopeError as error:
                if attempt > 1 and done_if_conflict_on_retry and getattr(error, "status", None) == 409:
                    return None
                raise

    def _once(self, method, path, body):
        data = json.dumps(_wire(body), allow_nan=False).encode() if body is not None else None
        headers = {"content-type": "application/json"} if data is not None else {}
        if self._token:
            headers["authorization"] = "Bearer " + self._token
        request = urllib.request.Request(self._api + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60, context=self._tls()) as response:
                return json.load(response)["result"]
        except urllib.error.HTTPError as error:
            try:
                message = json.load(error)["message"]
            except Exception:  # not our envelope
                message = str(error)
            if error.code in _RETRY_STATUSES:
                raise _Retry("HTTP %d: %s" % (error.code, message)) from None
            refusal = PeriscopeError("%s %s: %s" % (method, path, message))
            refusal.status = error.code
            raise refusal from None
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError) as error:
            # Refused, reset, timed out, or the answer cut short: the server is restarting or unreachable.
            raise _Retry(str(getattr(error, "reason", error))) from None


def _wire(value):
    """JSON has no NaN or infinities: they travel as the strings "NaN", "Infinity" and "-Infinity"."""
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def init(env=None):
    """The context of this executor (hyperparameters, rank, reporting)."""
    return Context(env)
