#!/usr/bin/env python3
"""A stand-in for the Determined Python SDK 0.38.1, for testing Periscope's Determined face.

The real SDK cannot be installed where Periscope's tests run, so this file does on the wire what it does
(see shared/reference/peer-wire/README.md, "Determined: method -> HTTP", and determined-sdk-requests.jsonl):

- JSON bodies go as ``data=`` strings (``json.dumps``, ASCII) with **no Content-Type**; a bodiless
  POST/PATCH/PUT/DELETE carries ``Content-Length: 0``; the other headers are those of ``requests``.
- ``Authorization: Bearer <token>`` on every call but the login; one fresh connection per request (the SDK
  opens a new ``requests.Session`` each time).
- Errors: 403 -> ForbiddenError, 401 -> UnauthenticatedError, 404 -> NotFoundError (message from the JSON
  ``message``, else ``error.error``), other >= 300 -> APIError; and, as the generated bindings do, any
  answer but exactly 200 is an error too. 502/503/504 are retried up to 5 times for idempotent methods.
- Every answer is checked against determined-required-fields.json (path in DET_REQUIRED_FIELDS) for the
  type the bindings would parse, recursing into the nested types named in the ``required`` expressions,
  plus what the SDK's wrappers assert on top (pagination.endIndex/total, checkpoint training metadata,
  enum values, protobuf timestamps of models).

Run as a script, it plays the seed-003 scenario against DET_MASTER (e.g. http://127.0.0.1:32080/determined)
as DET_USER / DET_PASS (or DET_USER + DET_USER_TOKEN), submitting DET_MODEL_DIR with the config text in
DET_CONFIG (or --model-dir / --config-file), and prints ONE JSON object summarising what came back. With
DET_TRACE=<file> every request is appended there as a line shaped like determined-sdk-requests.jsonl.
``--self-test`` checks the offline parts (hashing, the shape checker, the model-definition builder, the safe
tar extraction) without a server. Any failure exits 1 with one line on stderr.

Stdlib only; Python 3.9+.
"""

import argparse
import base64
import fnmatch
import gzip
import hashlib
import http.client
import io
import json
import os
import posixpath
import random
import re
import shutil
import socket
import ssl
import sys
import tarfile
import tempfile
import time
import urllib.parse
import zlib

PASSWORD_SALT = "GubPEmmotfiK9TMD6Zdw"
# determined.common.constants.MAX_CONTEXT_SIZE: (128 MiB // 8) * 6 - 1 MiB
MAX_CONTEXT_SIZE = (128 * 1024 * 1024 // 8) * 6 - 1024 * 1024
DEFAULT_DETIGNORE = [
    "__pycache__/",
    "*.py[co]",
    "*$py.class",
    "terraform",
    "terraform_data",
    "terraform.tfstate*",
    "terraform.tfvars*",
    ".terraform*",
    ".git/",
    ".vscode/",
    ".idea/",
    ".mypy_cache/",
    "/shared_fs",
]
# What `requests` sends by default (the SDK adds only Authorization and, for downloads, Accept).
USER_AGENT = "python-requests/2.32.3"
RETRY_STATUSES = (502, 503, 504)
RETRY_METHODS = ("GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE")  # urllib3's default allowed_methods
MAX_RETRIES = 5

TERMINAL_EXPERIMENT_STATES = ("STATE_COMPLETED", "STATE_CANCELED", "STATE_DELETED", "STATE_ERROR")

# The members of the enums the bindings parse in the answers this client reads (bindings.py, 0.38).
ENUMS = {
    "experimentv1State": {
        "STATE_UNSPECIFIED", "STATE_ACTIVE", "STATE_PAUSED", "STATE_STOPPING_COMPLETED", "STATE_STOPPING_CANCELED",
        "STATE_STOPPING_ERROR", "STATE_COMPLETED", "STATE_CANCELED", "STATE_ERROR", "STATE_DELETED", "STATE_DELETING",
        "STATE_DELETE_FAILED", "STATE_STOPPING_KILLED", "STATE_QUEUED", "STATE_PULLING", "STATE_STARTING", "STATE_RUNNING",
    },
    "trialv1State": {
        "STATE_UNSPECIFIED", "STATE_ACTIVE", "STATE_PAUSED", "STATE_STOPPING_CANCELED", "STATE_STOPPING_KILLED",
        "STATE_STOPPING_COMPLETED", "STATE_STOPPING_ERROR", "STATE_CANCELED", "STATE_COMPLETED", "STATE_ERROR",
        "STATE_QUEUED", "STATE_PULLING", "STATE_STARTING", "STATE_RUNNING",
    },
    "checkpointv1State": {
        "STATE_UNSPECIFIED", "STATE_ACTIVE", "STATE_COMPLETED", "STATE_ERROR", "STATE_DELETED", "STATE_PARTIALLY_DELETED",
    },
    "v1LogLevel": {
        "LOG_LEVEL_UNSPECIFIED", "LOG_LEVEL_TRACE", "LOG_LEVEL_DEBUG", "LOG_LEVEL_INFO", "LOG_LEVEL_WARNING",
        "LOG_LEVEL_ERROR", "LOG_LEVEL_CRITICAL",
    },
}
ENUM_PREFIXES = {"experimentv1State": "STATE_", "trialv1State": "STATE_", "checkpointv1State": "STATE_", "v1LogLevel": "LOG_LEVEL_"}
# The SDK's wrappers turn these into Python enums that have no UNSPECIFIED member (TrialState, CheckpointState).
NO_UNSPECIFIED = {"trialv1State", "checkpointv1State"}

# Optional fields whose type the bindings parse when present and not null; the JSON file names only the
# types of required fields, so the few this client's answers carry are listed by hand.
OPTIONAL_NESTED = {
    "v1CheckpointTrainingMetadata": {"validationMetrics": "v1Metrics", "trainingMetrics": "v1Metrics"},
    "v1PostCheckpointMetadataResponse": {"checkpoint": "v1Checkpoint"},
}
# Integer-typed fields (README: "ids are integers"); JSON numbers that are not bools.
INTEGER_FIELDS = {
    "v1Experiment": ("id", "numTrials", "projectId", "projectOwnerId"),
    "trialv1Trial": ("id", "experimentId", "restarts", "totalBatchesProcessed"),
    "v1CheckpointTrainingMetadata": ("trialId", "experimentId"),
    "v1Model": ("id", "numVersions", "userId", "workspaceId"),
    "v1ModelVersion": ("id", "version"),
    "v1TrialLogsResponse": ("trialId",),
    "v1Pagination": ("offset", "limit", "startIndex", "endIndex", "total"),
}
BOOLEAN_FIELDS = {"v1Experiment": ("archived",), "v1Model": ("archived",), "v1User": ("admin", "active")}


# -- errors ---------------------------------------------------------------------------------------------------
class DetError(Exception):
    """Anything this client refuses."""


class APIError(DetError):
    """An answer >= 300 (determined.common.api.errors.APIException) or not exactly 200 (bindings.APIHttpError)."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status
        self.message = message


class UnauthenticatedError(APIError):
    pass


class ForbiddenError(APIError):
    pass


class NotFoundError(APIError):
    pass


class StreamError(DetError):
    """A log stream line {"error": ...} (bindings.APIHttpStreamError)."""


class ShapeError(DetError):
    """An answer the Python bindings (or the SDK around them) could not parse."""


class UnsafeArchiveError(DetError):
    pass


def salt_and_hash(password):
    """determined.common.api.salt_and_hash: an empty password goes as it is."""
    if password:
        return hashlib.sha512((PASSWORD_SALT + password).encode()).hexdigest()
    return password


# -- response shapes ------------------------------------------------------------------------------------------
_FIELD = r"obj\['(\w+)'\]"
_EXPRESSIONS = [
    ("plain", re.compile(r"^" + _FIELD + r"$")),
    ("object", re.compile(r"^(\w+)\.from_json\(" + _FIELD + r"\)$")),
    ("list_of_objects", re.compile(r"^\[(\w+)\.from_json\(x\) for x in " + _FIELD + r"\]$")),
    ("list_of_floats", re.compile(r"^\[float\(x\) for x in " + _FIELD + r"\]$")),
    ("dict_of_objects", re.compile(r"^\{k: (\w+)\.from_json\(v\) for k, v in " + _FIELD + r"\.items\(\)\}$")),
    ("dict_of_floats", re.compile(r"^\{k: float\(v\) for k, v in " + _FIELD + r"\.items\(\)\}$")),
    ("call", re.compile(r"^(\w+)\(" + _FIELD + r"\)$")),  # float(...) or an enum
]


def _parse_expression(expression):
    for kind, pattern in _EXPRESSIONS:
        m = pattern.match(expression)
        if m:
            groups = m.groups()
            if kind in ("plain", "list_of_floats", "dict_of_floats"):
                return kind, None, groups[0]
            if kind == "call" and groups[0] == "float":
                return "float", None, groups[1]
            if kind == "call":
                return "enum", groups[0], groups[1]
            return kind, groups[0], groups[1]
    raise ValueError("unrecognised required-field expression %r" % expression)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_float(value):
    if _is_number(value):
        return True
    if isinstance(value, str):
        try:
            float(value)  # "NaN", "Nan", "Infinity", "-Infinity" and numbers in strings, as float() takes them
            return True
        except ValueError:
            return False
    return False


class Shapes:
    """The required fields of every Determined API type, from determined-required-fields.json."""

    def __init__(self, table):
        self.types = {}
        for name, spec in table.items():
            fields = {}
            for field, expression in (spec.get("required") or {}).items():
                kind, nested, key = _parse_expression(expression)
                if key != field:
                    raise ValueError("%s.%s: expression reads obj[%r]" % (name, field, key))
                fields[field] = (kind, nested)
            self.types[name] = {"required": fields, "optional": list(spec.get("optional") or [])}

    @classmethod
    def load(cls, path):
        with open(path, "r", encoding="utf-8") as f:
            return cls(json.load(f))

    def check(self, type_name, obj, where=None):
        """Raises ShapeError naming the type and field the bindings' from_json would fail on."""
        where = where or type_name
        if type_name not in self.types:
            raise ShapeError("%s: type %s is not in the required-fields table" % (where, type_name))
        if not isinstance(obj, dict):
            raise ShapeError("%s: %s.from_json needs a JSON object, got %s" % (where, type_name, _kind(obj)))
        spec = self.types[type_name]
        for field, (kind, nested) in spec["required"].items():
            path = "%s.%s" % (where, field)
            if field not in obj:
                raise ShapeError("%s: required field %r of %s is missing" % (where, field, type_name))
            self._check_value(kind, nested, obj[field], path, type_name, field, required=True)
        for field, nested in OPTIONAL_NESTED.get(type_name, {}).items():
            if obj.get(field) is not None and nested in self.types:
                self.check(nested, obj[field], "%s.%s" % (where, field))
        for field in INTEGER_FIELDS.get(type_name, ()):
            if obj.get(field) is not None and not (isinstance(obj[field], int) and not isinstance(obj[field], bool)):
                raise ShapeError("%s.%s: %s.%s must be an integer, got %r" % (where, field, type_name, field, obj[field]))
        for field in BOOLEAN_FIELDS.get(type_name, ()):
            if obj.get(field) is not None and not isinstance(obj[field], bool):
                raise ShapeError("%s.%s: %s.%s must be a boolean, got %r" % (where, field, type_name, field, obj[field]))

    def _check_value(self, kind, nested, value, path, type_name, field, required):
        if kind == "plain":
            return
        if kind == "float":
            if not _is_float(value):
                raise ShapeError("%s: float(%s.%s) fails on %r" % (path, type_name, field, value))
        elif kind == "enum":
            self.check_enum(nested, value, path)
        elif kind == "object":
            self.check(nested, value, path)
        elif kind in ("list_of_objects", "list_of_floats"):
            if not isinstance(value, list):
                raise ShapeError("%s: %s.%s must be a list, got %s" % (path, type_name, field, _kind(value)))
            for i, item in enumerate(value):
                if kind == "list_of_objects":
                    self.check(nested, item, "%s[%d]" % (path, i))
                elif not _is_float(item):
                    raise ShapeError("%s[%d]: float() fails on %r" % (path, i, item))
        elif kind in ("dict_of_objects", "dict_of_floats"):
            if not isinstance(value, dict):
                raise ShapeError("%s: %s.%s must be an object, got %s" % (path, type_name, field, _kind(value)))
            for k, item in value.items():
                if kind == "dict_of_objects":
                    self.check(nested, item, "%s[%r]" % (path, k))
                elif not _is_float(item):
                    raise ShapeError("%s[%r]: float() fails on %r" % (path, k, item))

    @staticmethod
    def check_enum(enum_name, value, path):
        if not isinstance(value, str):
            raise ShapeError("%s: %s(%r) fails: enum values are strings" % (path, enum_name, value))
        prefix = ENUM_PREFIXES.get(enum_name)
        if prefix and not value.startswith(prefix):
            raise ShapeError("%s: %s value %r does not start with %s" % (path, enum_name, value, prefix))
        members = ENUMS.get(enum_name)
        if members is not None and value not in members:
            raise ShapeError("%s: %r is not a member of %s" % (path, value, enum_name))


def _kind(value):
    return "null" if value is None else type(value).__name__


_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def check_timestamp(value, path):
    """determined.common.util.parse_protobuf_timestamp (fromisoformat after Z -> +00:00, fractions dropped)."""
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        raise ShapeError("%s: %r is not an RFC 3339 timestamp parse_protobuf_timestamp can read" % (path, value))


# -- HTTP -----------------------------------------------------------------------------------------------------
NO_BODY = object()


class Response:
    def __init__(self, status, reason, headers, body=None, raw=None, conn=None):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.raw = raw
        self._conn = conn

    def json(self, what):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise ShapeError("%s: the answer is not JSON (%s): %r" % (what, e, self.body[:200])) from None

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def canonicalize_master_url(url):
    """determined.common.api.canonicalize_master_url: a scheme, a port (8080/8443), no trailing slash."""
    if "://" not in url:
        url = "http://" + url
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise DetError("DET_MASTER %r: only http and https are supported" % url)
    netloc = parts.netloc
    if parts.port is None:
        netloc = "%s:%d" % (netloc, 8443 if parts.scheme == "https" else 8080)
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _decode_content(body, encoding):
    encoding = (encoding or "").strip().lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    return body


class _Raw:
    """requests' resp.raw for a stream=True download: read() only, undecoded (no seek, no Content-Encoding)."""

    def __init__(self, response):
        self._response = response

    def read(self, n=-1):
        return self._response.read() if n is None or n < 0 else self._response.read(n)


class Session:
    def __init__(self, master, token=None, username=None, trace_path=None, cert_file=None):
        self.master = canonicalize_master_url(master)
        parts = urllib.parse.urlsplit(self.master)
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._base_path = parts.path
        self.token = token
        self.username = username
        self._trace_path = trace_path
        self._cert_file = cert_file

    def _connection(self):
        if self._scheme == "https":
            if self._cert_file == "noverify":
                context = ssl._create_unverified_context()
            else:
                context = ssl.create_default_context(cafile=self._cert_file or None)
            return http.client.HTTPSConnection(self._host, self._port, context=context)
        return http.client.HTTPConnection(self._host, self._port)

    def request(self, sdk_call, method, path, params=None, body=NO_BODY, accept="*/*", stream=False, auth=True):
        """One call as determined.common.api._session._do_request makes it; raises on >= 300."""
        query = [(k, v) for k, v in (params or []) if v is not None]
        url_path = self._base_path + "/" + path.lstrip("/")
        if query:
            url_path += "?" + urllib.parse.urlencode(query)
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", "Accept": accept, "Connection": "keep-alive"}
        if auth:
            if not self.token:
                raise DetError("%s: not logged in" % sdk_call)
            headers["Authorization"] = "Bearer " + self.token
        data = None
        if body is not NO_BODY:
            data = json.dumps(body).encode("ascii")  # det.util.json_encode; ensure_ascii, default separators
            headers["Content-Length"] = str(len(data))
        elif method not in ("GET", "HEAD"):
            headers["Content-Length"] = "0"  # requests sets it for every bodiless method but GET/HEAD
        self._trace(sdk_call, method, url_path, query, headers, body)

        attempt = 0
        while True:
            attempt += 1
            conn = self._connection()
            try:
                conn.request(method, url_path, body=data, headers=headers)
                response = conn.getresponse()
            except (ConnectionError, socket.timeout, http.client.HTTPException, OSError) as e:
                conn.close()
                # urllib3 retries failed connections for every method, read errors only for idempotent ones.
                if attempt <= MAX_RETRIES and (method in RETRY_METHODS or isinstance(e, ConnectionRefusedError)):
                    time.sleep(_backoff(attempt))
                    continue
                raise DetError("%s: %s %s: cannot reach the master: %s" % (sdk_call, method, url_path, e)) from None
            status = response.status
            if status in RETRY_STATUSES and method in RETRY_METHODS:
                retry_after = response.getheader("Retry-After")
                response.read()
                conn.close()
                if attempt > MAX_RETRIES:
                    raise APIError("%s: %s %s: still %d after %d retries" % (sdk_call, method, url_path, status, MAX_RETRIES), status)
                pause = _backoff(attempt)
                if status == 503 and retry_after and retry_after.isdigit():
                    pause = float(retry_after)
                time.sleep(pause)
                continue
            break

        hdrs = {k.lower(): v for k, v in response.getheaders()}
        if stream and status < 300:
            return Response(status, response.reason, hdrs, raw=_Raw(response), conn=conn)
        try:
            raw_body = response.read()
        finally:
            conn.close()
        try:
            body_bytes = _decode_content(raw_body, hdrs.get("content-encoding"))
        except (OSError, zlib.error, EOFError) as e:
            raise DetError("%s: cannot decode the %s answer: %s" % (sdk_call, hdrs.get("content-encoding"), e)) from None
        result = Response(status, response.reason, hdrs, body=body_bytes)
        if status >= 300:
            message = _error_message(body_bytes)
            where = "%s: %s %s -> %d" % (sdk_call, method, url_path, status)
            if status == 403:
                error = ForbiddenError("%s: %s" % (where, message), status)
            elif status == 401:
                error = UnauthenticatedError("%s: unauthenticated" % where, status)
            elif status == 404:
                error = NotFoundError("%s: %s" % (where, message), status)
            else:
                error = APIError("%s: %s" % (where, message or body_bytes[:200].decode("utf-8", "replace")), status)
            error.server_message = message
            raise error
        return result

    def call(self, sdk_call, method, path, response_type, params=None, body=NO_BODY, auth=True, shapes=None):
        """A bindings call: exactly 200, then <response_type>.from_json(_resp.json()) (None: body ignored)."""
        response = self.request(sdk_call, method, path, params=params, body=body, auth=auth)
        if response.status != 200:
            raise APIError("%s: %s %s answered %d; the bindings accept only 200" % (sdk_call, method, path, response.status), response.status)
        if response_type is None:
            return None
        obj = response.json(sdk_call)
        if shapes is not None:
            shapes.check(response_type, obj, "%s: %s" % (sdk_call, response_type))
        return obj

    def _trace(self, sdk_call, method, url_path, query, headers, body):
        if not self._trace_path:
            return
        path, _, _ = url_path.partition("?")
        grouped = {}
        for k, v in query:
            grouped.setdefault(k, []).append(str(v))
        line = {
            "sdk_call": sdk_call,
            "method": method,
            "path": path,
            "query": grouped,
            "auth": headers.get("Authorization"),
            "content_type": headers.get("Content-Type"),
            "accept": headers.get("Accept"),
            "body": None if body is NO_BODY else body,
        }
        with open(self._trace_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")


def _backoff(attempt):
    # urllib3 2.x: no pause before the first retry, then backoff_factor * 2 ** (n - 1), at most 120 s.
    return 0.0 if attempt <= 1 else min(0.5 * (2 ** (attempt - 1)), 120.0)


def _error_message(body):
    """_session._get_error_str: JSON message, else error.error (and error.message, as the README allows)."""
    try:
        obj = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(obj, dict):
        return ""
    if obj.get("message") is not None:
        return str(obj["message"])
    error = obj.get("error")
    if isinstance(error, dict):
        for key in ("error", "message"):
            if error.get(key) is not None:
                return str(error[key])
    return ""


# -- model definition -----------------------------------------------------------------------------------------
def _detignore_patterns(root):
    patterns = list(DEFAULT_DETIGNORE)
    path = os.path.join(root, ".detignore")
    if os.path.isfile(path):
        with open(path, "r", encoding="utf-8") as f:
            patterns.extend(f.read().splitlines())
    return [p.strip() for p in patterns if p.strip() and not p.strip().startswith("#")]


def _ignored(rel_path, is_dir, patterns):
    """A minimal gitwildmatch: "dir/" only matches directories, "/x" is anchored, a pattern without "/"
    matches any path component's name, one with "/" the whole path; later "!x" re-includes."""
    ignored = False
    name = posixpath.basename(rel_path)
    for pattern in patterns:
        negate = pattern.startswith("!")
        p = pattern[1:] if negate else pattern
        dir_only = p.endswith("/")
        p = p.rstrip("/")
        if not p or (dir_only and not is_dir):
            continue
        if p.startswith("/"):
            hit = fnmatch.fnmatchcase(rel_path, p.lstrip("/"))
        elif "/" in p:
            hit = fnmatch.fnmatchcase(rel_path, p)
        else:
            hit = fnmatch.fnmatchcase(name, p)
        if hit:
            ignored = not negate
    return ignored


def _v1file(path, local_path, is_dir):
    st = os.stat(local_path)
    if is_dir:
        content = ""
    else:
        with open(local_path, "rb") as f:
            content = base64.b64encode(f.read()).decode("utf8")
    # determined.common.v1file_utils: type ord('5')/ord('0'), mtime as a string (int64), uid = gid = 0.
    return {
        "content": content,
        "gid": 0,
        "mode": st.st_mode,
        "mtime": str(int(st.st_mtime)),
        "path": path,
        "type": ord(tarfile.DIRTYPE) if is_dir else ord(tarfile.REGTYPE),
        "uid": 0,
    }


def read_v1_context(model_dir, limit=MAX_CONTEXT_SIZE):
    """determined.common.context.read_v1_context for a context dir without includes, in os.walk order (each
    directory's subdirectories, then its files, then what is below them; names sorted within a directory so
    the order does not depend on the disk): a directory always comes before its contents."""
    root = os.path.realpath(model_dir)
    if not os.path.isdir(root):
        raise DetError("model dir %r must be a directory" % model_dir)
    patterns = _detignore_patterns(root)
    items = []
    size = 0
    for parent, dirs, files in os.walk(root):
        dirs.sort()
        keep = []
        for d in dirs:
            rel = os.path.relpath(os.path.join(parent, d), root).replace(os.sep, "/")
            if _ignored(rel, True, patterns):
                continue
            keep.append(d)
            items.append(_v1file(rel, os.path.join(parent, d), True))
        dirs[:] = keep
        for name in sorted(files):
            rel = os.path.relpath(os.path.join(parent, name), root).replace(os.sep, "/")
            if name == ".detignore" or _ignored(rel, False, patterns):
                continue
            item = _v1file(rel, os.path.join(parent, name), False)
            size += len(item["path"]) + len(item["content"])
            items.append(item)
    if size > limit:
        raise DetError("model definition is %d bytes, over the %d byte limit" % (size, limit))
    return items


# -- checkpoint download --------------------------------------------------------------------------------------
def safe_extract(fileobj, dest):
    """Streams a gzip tar (mode "r|gz": no seeking) into dest; refuses absolute paths, "..", links and devices."""
    dest_real = os.path.realpath(dest)
    with tarfile.open(fileobj=fileobj, mode="r|gz") as tf:
        for member in tf:
            name = member.name
            if name.startswith("/") or os.path.isabs(name) or re.match(r"^[A-Za-z]:", name):
                raise UnsafeArchiveError("archive member %r has an absolute path" % name)
            parts = [p for p in name.split("/") if p not in ("", ".")]
            if ".." in parts:
                raise UnsafeArchiveError("archive member %r climbs out with .." % name)
            if not parts:
                continue  # the root itself ("." or "./")
            target = os.path.realpath(os.path.join(dest_real, *parts))
            if not target.startswith(dest_real + os.sep):
                raise UnsafeArchiveError("archive member %r lands outside the target dir" % name)
            if member.isdir():
                os.makedirs(target, exist_ok=True)
            elif member.isfile():
                os.makedirs(os.path.dirname(target), exist_ok=True)
                source = tf.extractfile(member)
                with open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
                os.chmod(target, (member.mode & 0o777) | 0o600)
            else:
                raise UnsafeArchiveError("archive member %r is a link or special file; refused" % name)


def read_tree(root):
    out = {}
    for parent, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(parent, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root).replace(os.sep, "/")] = f.read().decode("utf-8", errors="replace")
    return out


# -- the SDK --------------------------------------------------------------------------------------------------
class Client:
    """The slice of determined.experimental.client (Determined, Experiment, Trial, Checkpoint, Model) seed 003 uses."""

    def __init__(self, master, shapes, trace_path=None, cert_file=None):
        self.master = master
        self.shapes = shapes
        self.trace_path = trace_path
        self.cert_file = cert_file
        self.session = None

    def _unauth(self):
        return Session(self.master, trace_path=self.trace_path, cert_file=self.cert_file)

    def call(self, sdk_call, method, path, response_type, **kwargs):
        return self.session.call(sdk_call, method, path, response_type, shapes=self.shapes, **kwargs)

    # authentication
    def login(self, username, password, sdk_call="login"):
        session = self._unauth()
        body = {"password": salt_and_hash(password), "username": username, "isHashed": True}  # the recorded key order
        answer = session.call(sdk_call, "POST", "/api/v1/auth/login", "v1LoginResponse", body=body, auth=False, shapes=self.shapes)
        if not isinstance(answer["token"], str) or not answer["token"]:
            raise ShapeError("%s: v1LoginResponse.token must be a non-empty string" % sdk_call)
        session.token = answer["token"]
        session.username = username
        return session, answer

    def use_token(self, username, token):
        self.session = self._unauth()
        self.session.token = token
        self.session.username = username

    def whoami(self):
        return self.call("whoami", "GET", "/api/v1/me", "v1GetMeResponse")["user"]

    def logout(self):
        self.call("Determined.logout", "POST", "/api/v1/auth/logout", None)

    # experiments
    def create_experiment(self, config_text, model_dir):
        body = {"activate": True, "config": config_text, "modelDefinition": read_v1_context(model_dir), "projectId": None, "template": None}
        answer = self.call("create_experiment", "POST", "/api/v1/experiments", "v1CreateExperimentResponse", body=body)
        return answer

    def get_experiment(self, experiment_id, sdk_call="get_experiment"):
        return self.call(sdk_call, "GET", "/api/v1/experiments/%d" % experiment_id, "v1GetExperimentResponse")["experiment"]

    def experiment_trials_once(self, experiment_id, sdk_call):
        params = [("orderBy", "ORDER_BY_ASC"), ("sortBy", "SORT_BY_START_TIME")]
        return self.call(sdk_call, "GET", "/api/v1/experiments/%d/trials" % experiment_id, "v1GetExperimentTrialsResponse", params=params)

    def await_first_trial_and_wait(self, experiment_id, deadline_s=120.0, interval=0.2):
        """Experiment.await_first_trial then Experiment.wait, polling every `interval` until `deadline_s`."""
        deadline = time.monotonic() + deadline_s
        first = None
        state = None
        while first is None:
            state = self.get_experiment(experiment_id, "Experiment.await_first_trial")["state"]
            trials = self.experiment_trials_once(experiment_id, "Experiment.await_first_trial")["trials"]
            if trials:
                first = trials[0]
                break
            if state in TERMINAL_EXPERIMENT_STATES:
                raise DetError("experiment %d reached %s without any trial" % (experiment_id, state))
            if time.monotonic() > deadline:
                raise DetError("no trial of experiment %d after %.0f s (state %s)" % (experiment_id, deadline_s, state))
            time.sleep(interval)
        while True:
            state = self.get_experiment(experiment_id, "Experiment.wait")["state"]
            if state in TERMINAL_EXPERIMENT_STATES:
                return first, state
            if state == "STATE_PAUSED":
                raise DetError("Experiment %d is in paused state. Make sure the experiment is active." % experiment_id)
            if time.monotonic() > deadline:
                raise DetError("experiment %d still %s after %.0f s" % (experiment_id, state, deadline_s))
            time.sleep(interval)

    def _paginated(self, sdk_call, path, response_type, params, single=False):
        """api.read_paginated: pagination.endIndex and .total must be set; next offset = endIndex."""
        offset = 0
        pages = []
        while True:
            answer = self.call(sdk_call, "GET", path, response_type, params=[("offset", offset) if k == "offset" else (k, v) for k, v in params])
            pagination = answer["pagination"]
            for field in ("endIndex", "total"):
                if pagination.get(field) is None:
                    raise ShapeError("%s: pagination.%s is missing (api.read_paginated asserts it)" % (sdk_call, field))
            pages.append(answer)
            if pagination["endIndex"] >= pagination["total"] or single:
                return pages
            if pagination["endIndex"] <= offset:
                raise DetError("%s: pagination does not advance (offset %d, endIndex %d, total %d)" % (sdk_call, offset, pagination["endIndex"], pagination["total"]))
            offset = pagination["endIndex"]

    def get_trials(self, experiment_id):
        params = [("offset", 0), ("orderBy", "ORDER_BY_ASC"), ("sortBy", "SORT_BY_ID")]
        pages = self._paginated("Experiment.get_trials", "/api/v1/experiments/%d/trials" % experiment_id, "v1GetExperimentTrialsResponse", params)
        return [t for page in pages for t in page["trials"]]

    def delete_experiment(self, experiment_id):
        self.call("Experiment.delete", "DELETE", "/api/v1/experiments/%d" % experiment_id, None)

    # trials
    def get_trial(self, trial_id):
        return self.call("get_trial", "GET", "/api/v1/trials/%d" % trial_id, "v1GetTrialResponse")["trial"]

    def trial_logs(self, trial_id, tail=None, sdk_call="Trial.logs"):
        params = [("follow", "false")]
        if tail is not None:
            params += [("limit", tail), ("orderBy", "ORDER_BY_DESC")]
        response = self.session.request(sdk_call, "GET", "/api/v1/trials/%d/logs" % trial_id, params=params)
        if response.status != 200:
            raise APIError("%s: answered %d; the bindings accept only 200" % (sdk_call, response.status), response.status)
        logs = []
        # requests' iter_lines: bytes.splitlines of the body; a blank line in between fails json.loads as it does there.
        for i, line in enumerate(response.body.splitlines()):
            try:
                j = json.loads(line)
            except ValueError as e:
                raise ShapeError("%s: log line %d is not JSON (%s): %r" % (sdk_call, i, e, line[:200])) from None
            if not isinstance(j, dict):
                raise ShapeError("%s: log line %d is not a JSON object: %r" % (sdk_call, i, line[:200]))
            if "error" in j:
                error = j["error"]
                message = error.get("message") if isinstance(error, dict) else error
                raise StreamError("Stream Error during get_TrialLogs: %s" % message)
            if "result" not in j:
                raise ShapeError("%s: log line %d has neither result nor error" % (sdk_call, i))
            self.shapes.check("v1TrialLogsResponse", j["result"], "%s: line %d: v1TrialLogsResponse" % (sdk_call, i))
            logs.append(j["result"])
        if tail is not None:
            logs = list(reversed(logs))
        return [log["message"] for log in logs]

    def trial_checkpoints(self, trial_id, sdk_call, params, single):
        pages = self._paginated(sdk_call, "/api/v1/trials/%d/checkpoints" % trial_id, "v1GetTrialCheckpointsResponse", params, single=single)
        return [checkpoint_from_bindings(c, "%s: checkpoint %d" % (sdk_call, i)) for i, c in enumerate(c for p in pages for c in p["checkpoints"])]

    def trial_top_checkpoint(self, trial_id):
        found = self.trial_checkpoints(trial_id, "Trial.top_checkpoint", [("limit", 1), ("offset", 0), ("sortByAttr", "SORT_BY_SEARCHER_METRIC")], True)
        return _first(found, "Trial.top_checkpoint")

    def trial_select_latest(self, trial_id):
        params = [("limit", 1), ("offset", 0), ("orderBy", "ORDER_BY_DESC"), ("sortByAttr", "SORT_BY_BATCH_NUMBER")]
        return _first(self.trial_checkpoints(trial_id, "Trial.select_checkpoint(latest)", params, True), "Trial.select_checkpoint(latest)")

    def trial_select_best(self, trial_id, sort_by, smaller_is_better):
        params = [("limit", 1), ("offset", 0), ("orderBy", "ORDER_BY_ASC" if smaller_is_better else "ORDER_BY_DESC"), ("sortByMetric", sort_by)]
        return _first(self.trial_checkpoints(trial_id, "Trial.select_checkpoint(best,sort_by)", params, True), "Trial.select_checkpoint(best,sort_by)")

    def trial_get_checkpoints(self, trial_id):
        """Trial.get_checkpoints(): every page, then sorted by the searcher metric of the first one's config."""
        found = self.trial_checkpoints(trial_id, "Trial.get_checkpoints", [("offset", 0)], False)
        if not found:
            return found
        metric, smaller_is_better = searcher_of(found[0], "Trial.get_checkpoints")
        return sort_by_metric(found, metric, smaller_is_better)

    def experiment_top_checkpoint(self, experiment_id):
        params = [("limit", 1), ("offset", 0), ("sortByAttr", "SORT_BY_SEARCHER_METRIC"), ("states", "STATE_COMPLETED")]
        pages = self._paginated("Experiment.top_checkpoint", "/api/v1/experiments/%d/checkpoints" % experiment_id, "v1GetExperimentCheckpointsResponse", params, single=True)
        found = [checkpoint_from_bindings(c, "Experiment.top_checkpoint") for p in pages for c in p["checkpoints"]]
        return _first(found, "Experiment.top_checkpoint")

    def experiment_top_n_checkpoints(self, experiment_id, limit):
        params = [("offset", 0), ("states", "STATE_COMPLETED")]
        pages = self._paginated("Experiment.top_n_checkpoints", "/api/v1/experiments/%d/checkpoints" % experiment_id, "v1GetExperimentCheckpointsResponse", params)
        found = [checkpoint_from_bindings(c, "Experiment.top_n_checkpoints") for p in pages for c in p["checkpoints"]]
        if not found:
            raise DetError("No checkpoint found for experiment %d" % experiment_id)
        metric, smaller_is_better = searcher_of(found[0], "Experiment.top_n_checkpoints")
        ordered = sort_by_metric(found, metric, smaller_is_better)
        seen = set()
        distinct = []
        for c in ordered:
            trial_id = c["training"]["trialId"]
            if trial_id not in seen:
                seen.add(trial_id)
                distinct.append(c)
        return distinct[:limit]

    # checkpoints
    def get_checkpoint(self, uuid, sdk_call="get_checkpoint"):
        answer = self.call(sdk_call, "GET", "/api/v1/checkpoints/%s" % uuid, "v1GetCheckpointResponse")
        return checkpoint_from_bindings(answer["checkpoint"], sdk_call)

    def download_checkpoint(self, checkpoint, dest):
        """Checkpoint.download(path=dest, mode=DownloadMode.MASTER)."""
        sdk_call = "Checkpoint.download(mode=MASTER)"
        if checkpoint["state"] not in ("STATE_COMPLETED", "STATE_PARTIALLY_DELETED"):
            raise DetError("%s: only COMPLETED or PARTIALLY_DELETED checkpoints can be downloaded, not %s" % (sdk_call, checkpoint["state"]))
        if not any(os.path.exists(os.path.join(dest, f)) for f in ("metadata.json", "MLmodel")):
            if checkpoint["_training"] is None:
                raise DetError("%s: Non-training checkpoints cannot be downloaded (training.trialId is not set)" % sdk_call)
            if "checkpoint_storage" not in checkpoint["training"]["experimentConfig"]:
                raise ShapeError("%s: training.experimentConfig has no checkpoint_storage (Checkpoint.download reads it in every mode)" % sdk_call)
            os.makedirs(dest, exist_ok=True)
            response = self.session.request(sdk_call, "GET", "/checkpoints/%s" % checkpoint["uuid"], accept="application/gzip", stream=True)
            try:
                if response.status >= 400:
                    raise DetError("%s: unable to download checkpoint from master: %d %s" % (sdk_call, response.status, response.reason))
                try:
                    safe_extract(response.raw, dest)
                except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
                    raise DetError("%s: the answer is not a gzip tar stream (%s; content-type %s, content-encoding %s)" % (sdk_call, e, response.headers.get("content-type"), response.headers.get("content-encoding"))) from None
            finally:
                response.close()
        metadata_path = os.path.join(dest, "metadata.json")
        if not os.path.exists(metadata_path):
            with open(metadata_path, "w") as f:
                json.dump(checkpoint["metadata"], f, indent=2)
        return dest

    def _push_checkpoint_metadata(self, sdk_call, uuid, metadata):
        body = {"checkpoint": {"metadata": metadata, "resources": {}, "state": "STATE_UNSPECIFIED", "training": {}, "uuid": uuid}}
        self.call(sdk_call, "POST", "/api/v1/checkpoints/%s/metadata" % uuid, "v1PostCheckpointMetadataResponse", body=body)

    def checkpoint_add_metadata(self, checkpoint, metadata):
        updated = dict(checkpoint["metadata"], **metadata) if checkpoint["metadata"] else metadata
        self._push_checkpoint_metadata("Checkpoint.add_metadata", checkpoint["uuid"], updated)
        checkpoint["metadata"] = updated

    def checkpoint_remove_metadata(self, checkpoint, keys):
        updated = dict(checkpoint["metadata"]) if checkpoint["metadata"] else {}
        for key in keys:
            updated.pop(key, None)
        self._push_checkpoint_metadata("Checkpoint.remove_metadata", checkpoint["uuid"], updated)
        checkpoint["metadata"] = updated

    def checkpoint_delete(self, uuid):
        self.call("Checkpoint.delete", "DELETE", "/api/v1/checkpoints", None, body={"checkpointUuids": [uuid]})

    # models
    def _model(self, sdk_call, answer, key="model"):
        model = answer[key]
        for field in ("creationTime", "lastUpdatedTime"):
            check_timestamp(model[field], "%s: v1Model.%s" % (sdk_call, field))
        return model

    def create_model(self, name, description="", metadata=None):
        body = {"name": name, "description": description, "labels": None, "metadata": metadata, "notes": None, "workspaceName": None}
        return self._model("create_model", self.call("create_model", "POST", "/api/v1/models", "v1PostModelResponse", body=body))

    def get_model(self, identifier, sdk_call="get_model(name)"):
        return self._model(sdk_call, self.call(sdk_call, "GET", "/api/v1/models/%s" % identifier, "v1GetModelResponse"))

    def get_models(self):
        params = [("offset", 0), ("orderBy", "ORDER_BY_ASC"), ("sortBy", "SORT_BY_NAME")]
        pages = self._paginated("get_models", "/api/v1/models", "v1GetModelsResponse", params)
        models = [m for p in pages for m in p["models"]]
        for i, m in enumerate(models):
            for field in ("creationTime", "lastUpdatedTime"):
                check_timestamp(m[field], "get_models: models[%d].%s" % (i, field))
        return models

    def get_model_labels(self):
        return self.call("get_model_labels", "GET", "/api/v1/model/labels", "v1GetModelLabelsResponse")["labels"]

    def _model_version(self, sdk_call, version):
        checkpoint_from_bindings(version["checkpoint"], "%s: v1ModelVersion.checkpoint" % sdk_call)
        return version

    def register_version(self, model_name, checkpoint_uuid):
        body = {"checkpointUuid": checkpoint_uuid, "modelName": model_name}
        answer = self.call("Model.register_version", "POST", "/api/v1/models/%s/versions" % model_name, "v1PostModelVersionResponse", body=body)
        return self._model_version("Model.register_version", answer["modelVersion"])

    def get_version(self, model_name, version=-1):
        if version == -1:
            params = [("limit", 1), ("orderBy", "ORDER_BY_DESC"), ("sortBy", "SORT_BY_VERSION")]
            answer = self.call("Model.get_version()", "GET", "/api/v1/models/%s/versions" % model_name, "v1GetModelVersionsResponse", params=params)
            if not answer["modelVersions"]:
                return None
            return self._model_version("Model.get_version()", answer["modelVersions"][0])
        sdk_call = "Model.get_version(%d)" % version
        answer = self.call(sdk_call, "GET", "/api/v1/models/%s/versions/%d" % (model_name, version), "v1GetModelVersionResponse")
        return self._model_version(sdk_call, answer["modelVersion"])

    def get_versions(self, model_name):
        params = [("offset", 0), ("orderBy", "ORDER_BY_DESC")]
        pages = self._paginated("Model.get_versions", "/api/v1/models/%s/versions" % model_name, "v1GetModelVersionsResponse", params)
        return [self._model_version("Model.get_versions", v) for p in pages for v in p["modelVersions"]]

    def patch_model(self, sdk_call, model_name, body):
        return self.call(sdk_call, "PATCH", "/api/v1/models/%s" % model_name, "v1PatchModelResponse", body=body)

    def model_post(self, sdk_call, model_name, action):
        self.call(sdk_call, "POST", "/api/v1/models/%s/%s" % (model_name, action), None)

    def delete_model(self, model_name):
        self.call("Model.delete", "DELETE", "/api/v1/models/%s" % model_name, None)


def checkpoint_from_bindings(c, where):
    """Checkpoint._from_bindings: CheckpointState(...) has no UNSPECIFIED; CheckpointTrainingMetadata is None
    without a trialId, and otherwise asserts experimentConfig and experimentId."""
    if c["state"] == "STATE_UNSPECIFIED":
        raise ShapeError("%s: checkpoint %s: state STATE_UNSPECIFIED is not a CheckpointState" % (where, c.get("uuid")))
    training = c["training"]
    if not training.get("trialId"):
        c["_training"] = None
    else:
        if not training.get("experimentConfig"):
            raise ShapeError("%s: checkpoint %s: training.experimentConfig must be set (CheckpointTrainingMetadata asserts it)" % (where, c.get("uuid")))
        if not isinstance(training["experimentConfig"], dict):
            raise ShapeError("%s: checkpoint %s: training.experimentConfig must be an object" % (where, c.get("uuid")))
        if not training.get("experimentId"):
            raise ShapeError("%s: checkpoint %s: training.experimentId must be set (CheckpointTrainingMetadata asserts it)" % (where, c.get("uuid")))
        c["_training"] = {"validation_metrics": training.get("validationMetrics") or {}, "trial_id": training["trialId"]}
    return c


def searcher_of(checkpoint, sdk_call):
    if checkpoint["_training"] is None:
        raise DetError("%s: the first checkpoint has no training metadata to take the searcher from" % sdk_call)
    searcher = checkpoint["training"]["experimentConfig"].get("searcher", {})
    metric = searcher.get("metric") if isinstance(searcher, dict) else None
    if not isinstance(metric, str):
        raise DetError("%s: no searcher.metric found in experiment config; please provide a sort_by metric" % sdk_call)
    return metric, searcher.get("smaller_is_better", True)


def sort_by_metric(checkpoints, metric, smaller_is_better):
    reverse = not smaller_is_better

    def key(c):
        if c["_training"] is None:
            raise DetError("checkpoint %s has no training metadata to sort by" % c["uuid"])
        value = (c["_training"]["validation_metrics"].get("avgMetrics") or {}).get(metric)
        return (value is not None, value) if reverse else (value is None, value)

    try:
        return sorted(checkpoints, key=key, reverse=reverse)
    except TypeError as e:
        raise ShapeError("validationMetrics.avgMetrics.%s cannot be compared across checkpoints: %s" % (metric, e)) from None


def _first(found, sdk_call):
    if not found:
        raise DetError("%s: No checkpoints found for criteria." % sdk_call)
    return found[0]


def searcher_from_yaml(text):
    """The searcher's metric and smaller_is_better from the config text (flow or block style; no YAML library)."""
    metric = re.search(r"(?:^|[\s{,])metric:\s*['\"]?([A-Za-z0-9_./-]+)", text)
    smaller = re.search(r"smaller_is_better:\s*(true|false|True|False|yes|no)\b", text)
    return (metric.group(1) if metric else None), (smaller.group(1) in ("true", "True", "yes") if smaller else True)


def _checkpoint_summary(c):
    training = c["training"]
    return {
        "uuid": c["uuid"],
        "state": c["state"],
        "metadata": c["metadata"],
        "resources": c["resources"],
        "trialId": training.get("trialId"),
        "avgMetrics": ((training.get("validationMetrics") or {}).get("avgMetrics")),
    }


def _probe(fn):
    """Runs fn expecting an APIError; answers what it was."""
    try:
        fn()
    except APIError as e:
        return {"exception": type(e).__name__, "status": e.status, "message": getattr(e, "server_message", e.message)}
    return {"exception": None, "status": 200, "message": None}


# -- the scenario ---------------------------------------------------------------------------------------------
def run_scenario(args):
    master = os.environ.get("DET_MASTER")
    if not master:
        raise DetError("DET_MASTER is not set")
    user = os.environ.get("DET_USER")
    if not user:
        raise DetError("DET_USER is not set")
    password = os.environ.get("DET_PASS", os.environ.get("DET_PASSWORD", ""))
    token = os.environ.get("DET_USER_TOKEN")
    model_dir = args.model_dir or os.environ.get("DET_MODEL_DIR")
    if not model_dir:
        raise DetError("DET_MODEL_DIR (or --model-dir) is not set")
    if args.config_file:
        with open(args.config_file, "r", encoding="utf-8") as f:
            config_text = f.read()
    else:
        config_text = os.environ.get("DET_CONFIG")
    if not config_text:
        raise DetError("DET_CONFIG (or --config-file) is not set")
    fields_path = args.required_fields or os.environ.get("DET_REQUIRED_FIELDS")
    if not fields_path:
        raise DetError("DET_REQUIRED_FIELDS (or --required-fields) is not set")
    shapes = Shapes.load(fields_path)
    client = Client(master, shapes, trace_path=os.environ.get("DET_TRACE"), cert_file=os.environ.get("DET_MASTER_CERT_FILE"))
    out = {"errors": {}}

    # Negative probe first, so a rate limit on failed logins cannot be reached by it.
    out["errors"]["wrongPassword"] = _probe(lambda: client.login(user, password + "-wrong", sdk_call="login(wrong password)"))

    if token:
        client.use_token(user, token)
    else:
        client.session, login_answer = client.login(user, password)
        out["loginUser"] = login_answer["user"]["username"]
    me = client.whoami()
    out["me"] = me["username"]

    out["errors"]["notFound"] = _probe(lambda: client.get_experiment(999999, "get_experiment(999999)"))

    created = client.create_experiment(config_text, model_dir)
    experiment = created["experiment"]
    experiment_id = experiment["id"]
    out["experimentId"] = experiment_id
    out["createdState"] = experiment["state"]
    out["experimentName"] = experiment["name"]
    client.get_experiment(experiment_id)
    first_trial, final_state = client.await_first_trial_and_wait(experiment_id, deadline_s=args.deadline)
    out["firstTrial"] = first_trial["id"]
    out["finalState"] = final_state

    trials = client.get_trials(experiment_id)
    out["trials"] = [t["id"] for t in trials]
    if not trials:
        raise DetError("Experiment.get_trials: no trials")
    trial_id = trials[0]["id"]
    trial = client.get_trial(trial_id)
    out["trialState"] = trial["state"]

    out["logLines"] = client.trial_logs(trial_id)
    out["tail"] = client.trial_logs(trial_id, tail=2, sdk_call="Trial.logs(tail=2)")

    metric, smaller_is_better = searcher_from_yaml(config_text)
    if metric is None:
        searcher = (created.get("config") or {}).get("searcher") or {}
        metric, smaller_is_better = searcher.get("metric"), searcher.get("smaller_is_better", True)
    if not metric:
        raise DetError("the config names no searcher metric")
    out["searcherMetric"] = metric

    top = client.trial_top_checkpoint(trial_id)
    out["topCheckpoint"] = top["uuid"]
    latest = client.trial_select_latest(trial_id)
    out["latestCheckpoint"] = latest["uuid"]
    best = client.trial_select_best(trial_id, metric, smaller_is_better)
    out["bestCheckpoint"] = best["uuid"]
    out["trialCheckpoints"] = [_checkpoint_summary(c) for c in client.trial_get_checkpoints(trial_id)]
    experiment_top = client.experiment_top_checkpoint(experiment_id)
    out["experimentTopCheckpoint"] = experiment_top["uuid"]
    out["topN"] = [c["uuid"] for c in client.experiment_top_n_checkpoints(experiment_id, 2)]

    checkpoint = client.get_checkpoint(experiment_top["uuid"])
    out["checkpoint"] = _checkpoint_summary(checkpoint)
    work = tempfile.mkdtemp(prefix="det-sdk-client-")
    try:
        best_dir = client.download_checkpoint(checkpoint, os.path.join(work, "best"))
        out["downloadedFiles"] = read_tree(best_dir)
        # A second download, of the latest checkpoint, so its content can be told apart from the best's.
        latest_full = client.get_checkpoint(latest["uuid"])
        latest_dir = client.download_checkpoint(latest_full, os.path.join(work, "latest"))
        out["downloadedLatestFiles"] = read_tree(latest_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    client.checkpoint_add_metadata(checkpoint, {"note": "best"})
    out["checkpointMetadataAfterAdd"] = client.get_checkpoint(checkpoint["uuid"])["metadata"]
    client.checkpoint_remove_metadata(checkpoint, ["note"])
    out["checkpointMetadataAfterRemove"] = client.get_checkpoint(checkpoint["uuid"])["metadata"]

    model_name = "mnist-%08x" % random.getrandbits(32)
    model = client.create_model(model_name, description="d", metadata={"a": 1})
    out["modelName"] = model_name
    out["modelId"] = model["id"]
    local_metadata = dict(model["metadata"] or {})
    if client.get_model(model_name)["id"] != model["id"]:
        raise DetError("get_model(name) answered another model")
    if client.get_model(str(model["id"]), "get_model_by_id")["name"] != model_name:
        raise DetError("get_model_by_id answered another model")
    out["modelsListed"] = [m["name"] for m in client.get_models()]
    out["modelLabelsBefore"] = client.get_model_labels()

    registered = client.register_version(model_name, checkpoint["uuid"])
    out["registeredVersion"] = registered["version"]
    latest_version = client.get_version(model_name)
    out["latestVersion"] = None if latest_version is None else latest_version["version"]
    numbered = client.get_version(model_name, registered["version"])
    out["versionCheckpoint"] = numbered["checkpoint"]["uuid"]
    out["versions"] = [v["version"] for v in client.get_versions(model_name)]

    local_metadata = dict(local_metadata, b=2)
    client.patch_model("Model.add_metadata", model_name, {"metadata": local_metadata})
    local_metadata.pop("a", None)
    client.patch_model("Model.remove_metadata", model_name, {"metadata": local_metadata})
    client.patch_model("Model.set_labels", model_name, {"labels": ["y", "z"]})
    patched = client.get_model(model_name)
    out["labels"] = patched.get("labels")
    out["modelMetadata"] = patched["metadata"]
    out["modelLabels"] = client.get_model_labels()
    client.model_post("Model.archive", model_name, "archive")
    out["archivedAfterArchive"] = client.get_model(model_name)["archived"]
    client.model_post("Model.unarchive", model_name, "unarchive")
    out["archivedAfterUnarchive"] = client.get_model(model_name)["archived"]
    client.delete_model(model_name)
    out["modelAfterDelete"] = _probe(lambda: client.get_model(model_name))

    client.checkpoint_delete(checkpoint["uuid"])
    try:
        out["checkpointAfterDelete"] = client.get_checkpoint(checkpoint["uuid"])["state"]
    except NotFoundError:
        out["checkpointAfterDelete"] = 404
    client.delete_experiment(experiment_id)
    try:
        out["experimentAfterDelete"] = client.get_experiment(experiment_id)["state"]
    except NotFoundError:
        out["experimentAfterDelete"] = 404
    out["deleted"] = True

    if not token:
        client.logout()
        out["meAfterLogout"] = _probe(client.whoami)["status"]
    return out


# -- offline self-test ----------------------------------------------------------------------------------------
def self_test(fields_path):
    # The login hash, against a digest computed apart from salt_and_hash.
    assert salt_and_hash("password") == hashlib.sha512(b"GubPEmmotfiK9TMD6Zdwpassword").hexdigest()
    assert salt_and_hash("") == ""
    assert len(salt_and_hash("x")) == 128

    if fields_path:
        shapes = Shapes.load(fields_path)  # every expression in the table parses
        ckpt = {
            "uuid": "u", "state": "STATE_COMPLETED", "metadata": {}, "resources": {},
            "training": {"trialId": 1, "experimentId": 1, "experimentConfig": {"searcher": {"metric": "loss"}}, "validationMetrics": {"avgMetrics": {"loss": 0.3}}},
        }
        shapes.check("v1GetCheckpointResponse", {"checkpoint": ckpt})
        for broken, needle in (
            ({"checkpoint": dict(ckpt, state="COMPLETED")}, "STATE_"),
            ({"checkpoint": {k: v for k, v in ckpt.items() if k != "resources"}}, "'resources' of v1Checkpoint"),
            ({"checkpoint": dict(ckpt, training=dict(ckpt["training"], validationMetrics={"loss": 1}))}, "'avgMetrics' of v1Metrics"),
            ({"checkpoint": dict(ckpt, training=None)}, "v1CheckpointTrainingMetadata.from_json needs a JSON object"),
        ):
            _expect_shape_error(shapes, "v1GetCheckpointResponse", broken, needle)
        trial = {"id": 1, "experimentId": 1, "hparams": {}, "restarts": 0, "startTime": "2024-01-01T00:00:00Z", "state": "STATE_COMPLETED", "totalBatchesProcessed": 3}
        shapes.check("v1GetExperimentTrialsResponse", {"trials": [trial], "pagination": {}})
        _expect_shape_error(shapes, "v1GetExperimentTrialsResponse", {"trials": [dict(trial, id="1")], "pagination": {}}, "must be an integer")
        _expect_shape_error(shapes, "v1GetExperimentTrialsResponse", {"trials": [trial]}, "'pagination' of v1GetExperimentTrialsResponse")
        _expect_shape_error(shapes, "v1GetTrialResponse", {"trial": {k: v for k, v in trial.items() if k != "restarts"}}, "'restarts' of trialv1Trial")
        log = {"id": "1", "trialId": 1, "message": "hi\n", "timestamp": "2024-01-01T00:00:00Z", "level": "LOG_LEVEL_INFO"}
        shapes.check("v1TrialLogsResponse", log)
        _expect_shape_error(shapes, "v1TrialLogsResponse", dict(log, level="INFO"), "LOG_LEVEL_")
        user = {"username": "dora", "admin": False, "active": True}
        shapes.check("v1LoginResponse", {"token": "t", "user": user})
        _expect_shape_error(shapes, "v1LoginResponse", {"token": "t", "user": {"username": "dora", "admin": False}}, "'active' of v1User")
        _expect_shape_error(shapes, "v1GetMeResponse", {"user": None}, "v1User.from_json needs a JSON object")
        for bad in ("2024-01-01", "yesterday", 1700000000):
            try:
                check_timestamp(bad, "t")
            except ShapeError:
                pass
            else:
                raise AssertionError("timestamp %r passed" % (bad,))
        check_timestamp("2024-01-01T00:00:00.123456789Z", "t")
        check_timestamp("2024-01-01T00:00:00+02:00", "t")

    # The model definition: directories before their contents, paths relative, base64 content, .detignore.
    work = tempfile.mkdtemp(prefix="det-sdk-selftest-")
    try:
        root = os.path.join(work, "model")
        os.makedirs(os.path.join(root, "extra"))
        os.makedirs(os.path.join(root, "__pycache__"))
        os.makedirs(os.path.join(root, "skipme"))
        for rel, content in (("train.py", b"print('hi')\n"), ("extra/helper.py", b"X = 1\n"), ("__pycache__/a.pyc", b"\0"),
                             ("skipme/x", b"x"), ("notes.log", b"n"), (".detignore", b"skipme/\n*.log\n")):
            with open(os.path.join(root, rel), "wb") as f:
                f.write(content)
        items = read_v1_context(root)
        paths = [i["path"] for i in items]
        # os.walk order, as the SDK sends it: a directory's subdirectories, its files, then what is below.
        assert paths == ["extra", "train.py", "extra/helper.py"], paths
        by_path = {i["path"]: i for i in items}
        assert by_path["extra"]["type"] == 53 and by_path["extra"]["content"] == ""
        assert by_path["extra/helper.py"]["type"] == 48 and by_path["extra/helper.py"]["content"] == "WCA9IDEK"
        assert isinstance(by_path["train.py"]["mtime"], str) and by_path["train.py"]["uid"] == 0 and by_path["train.py"]["gid"] == 0
        assert by_path["train.py"]["mode"] & 0o100000 and by_path["extra"]["mode"] & 0o040000

        # Safe extraction of a gzip tar read as a stream (a plain tar and "../" members are refused).
        def tar_of(members, compress=True):
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w:gz" if compress else "w") as tf:
                for name, data, kind in members:
                    info = tarfile.TarInfo(name)
                    info.type = kind
                    if kind == tarfile.REGTYPE:
                        info.size = len(data)
                        tf.addfile(info, io.BytesIO(data))
                    else:
                        if kind == tarfile.SYMTYPE:
                            info.linkname = "/etc/passwd"
                        tf.addfile(info)
            return io.BufferedReader(io.BytesIO(buf.getvalue()))

        class Unseekable:
            def __init__(self, f):
                self.f = f

            def read(self, n=-1):
                return self.f.read(n)

        dest = os.path.join(work, "dest")
        safe_extract(Unseekable(tar_of([("./", b"", tarfile.DIRTYPE), ("./weights.txt", b"step 2", tarfile.REGTYPE), ("sub", b"", tarfile.DIRTYPE), ("sub/a.txt", b"a", tarfile.REGTYPE)])), dest)
        assert read_tree(dest) == {"weights.txt": "step 2", "sub/a.txt": "a"}, read_tree(dest)
        for members in ([("../evil", b"x", tarfile.REGTYPE)], [("/abs", b"x", tarfile.REGTYPE)], [("link", b"", tarfile.SYMTYPE)]):
            try:
                safe_extract(Unseekable(tar_of(members)), os.path.join(work, "evil"))
            except UnsafeArchiveError:
                pass
            else:
                raise AssertionError("unsafe member %r extracted" % (members,))
        assert not os.path.exists(os.path.join(work, "evil")) or read_tree(os.path.join(work, "evil")) == {}
        try:
            safe_extract(Unseekable(tar_of([("w", b"x", tarfile.REGTYPE)], compress=False)), os.path.join(work, "plain"))
        except tarfile.TarError:
            pass
        else:
            raise AssertionError("a plain tar was accepted")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    assert searcher_from_yaml("searcher: {name: single, metric: loss, smaller_is_better: true}\n") == ("loss", True)
    assert searcher_from_yaml("searcher:\n  name: single\n  metric: accuracy\n  smaller_is_better: false\n") == ("accuracy", False)
    assert canonicalize_master_url("http://127.0.0.1:5/determined/") == "http://127.0.0.1:5/determined"
    assert canonicalize_master_url("localhost") == "http://localhost:8080"
    assert _error_message(b'{"message": "m"}') == "m" and _error_message(b'{"error": {"error": "e"}}') == "e"
    return {"selfTest": "ok"}


def _expect_shape_error(shapes, type_name, obj, needle):
    try:
        shapes.check(type_name, obj)
    except ShapeError as e:
        if needle not in str(e):
            raise AssertionError("ShapeError %r does not mention %r" % (str(e), needle))
        return
    raise AssertionError("%s passed though broken (%s)" % (type_name, needle))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", help="the model definition to upload (default: $DET_MODEL_DIR)")
    parser.add_argument("--config-file", help="a file with the experiment config YAML (default: the text in $DET_CONFIG)")
    parser.add_argument("--required-fields", help="determined-required-fields.json (default: $DET_REQUIRED_FIELDS)")
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds to wait for the experiment to end (default 120)")
    parser.add_argument("--self-test", action="store_true", help="check the offline parts and exit")
    args = parser.parse_args(argv)
    try:
        if args.self_test:
            result = self_test(args.required_fields or os.environ.get("DET_REQUIRED_FIELDS"))
        else:
            result = run_scenario(args)
    except (DetError, AssertionError, OSError, ValueError, KeyError, TypeError) as e:
        message = "%s: %s" % (type(e).__name__, e)
        sys.stderr.write("det_sdk_client: " + " ".join(message.split()) + "\n")
        return 1
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
