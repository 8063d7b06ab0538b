"""A PEP 517 build backend for periscope-helper, in the standard library only.

The package is one module with no dependencies, and it must install where there is no package index (a training
image built offline, this project's CI): a backend named in ``requires`` would have to be downloaded first,
and setuptools before 70 also needs ``wheel``. So the wheel (PEP 427) and the sdist are written here. The
metadata comes from pyproject.toml's ``[project]`` table, whose values are plain strings.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MODULE = "periscope.py"


def _project():
    """The ``key = "value"`` pairs of pyproject.toml's [project] table (``license = { text = "…" }`` too)."""
    values, inside = {}, False
    with open(os.path.join(_HERE, "pyproject.toml"), encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line.startswith("["):
                inside = line == "[project]"
                continue
            match = re.match(r'^([A-Za-z-]+)\s*=\s*(?:\{\s*text\s*=\s*)?"([^"]*)"', line)
            if inside and match:
                values[match.group(1)] = match.group(2)
    return values


def _names():
    project = _project()
    distribution = re.sub(r"[-_.]+", "_", project["name"]).lower()
    return project, distribution, "%s-%s" % (distribution, project["version"])


def _metadata(project):
    with open(os.path.join(_HERE, project.get("readme", "README.md")), encoding="utf-8") as handle:
        readme = handle.read()
    fields = [
        ("Metadata-Version", "2.1"),
        ("Name", project["name"]),
        ("Version", project["version"]),
        ("Summary", project.get("description", "")),
        ("License", project.get("license", "")),
        ("Requires-Python", project.get("requires-python", "")),
        ("Description-Content-Type", "text/markdown"),
    ]
    return "".join("%s: %s\n" % field for field in fields if field[1]) + "\n" + readme


def _digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project, _distribution, stem = _names()
    with open(os.path.join(_HERE, _MODULE), "rb") as handle:
        module = handle.read()
    info = stem + ".dist-info"
    files = [
        (_MODULE, module),
        (info + "/METADATA", _metadata(project).encode("utf-8")),
        (info + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: periscope_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    record = "".join("%s,%s,%d\n" % (name, _digest(data), len(data)) for name, data in files) + info + "/RECORD,,\n"
    files.append((info + "/RECORD", record.encode("utf-8")))
    name = stem + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files:
            wheel.writestr(zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return name


def build_sdist(sdist_directory, config_settings=None):
    project, _distribution, stem = _names()
    name = stem + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as sdist:
        for path in (_MODULE, "pyproject.toml", project.get("readme", "README.md"), "build_backend/periscope_build.py"):
            sdist.add(os.path.join(_HERE, path), arcname=stem + "/" + path)
        data = _metadata(project).encode("utf-8")
        entry = tarfile.TarInfo(stem + "/PKG-INFO")
        entry.size = len(data)
        sdist.addfile(entry, io.BytesIO(data))
    return name
