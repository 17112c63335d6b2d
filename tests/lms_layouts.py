"""Writes the example LMS downloads of tests/data/lms/layouts.toml around the mini course's notebooks."""
import shutil
import tomllib
import zipfile
from pathlib import Path

LMS = Path(__file__).resolve().parent / "data" / "lms"


def layouts() -> dict:
    return tomllib.loads((LMS / "layouts.toml").read_text(encoding="utf-8"))


def write_layout(fmt: str, course: Path, dest: Path) -> Path:
    """The ``fmt`` download as a folder under ``dest`` (returned): notebooks from the mini course's solution and
    release, texts as given."""
    spec = layouts()[fmt]
    notebooks = {"solution": course / "solutions" / "mini" / "mini.ipynb",
                 "stub": course / "assignments" / "mini" / "mini.ipynb"}
    dest.mkdir(parents=True, exist_ok=True)
    for rel, what in spec["entries"]:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if what in notebooks:
            shutil.copyfile(notebooks[what], target)
        else:
            target.write_text(what, encoding="utf-8")
    if "metadata" in spec:
        top = dest / Path(spec["entries"][0][0]).parts[0]
        shutil.copyfile(LMS / spec["metadata"], top / "submission_metadata.yml")
    return dest


class _RawName(zipfile.ZipInfo):
    """An entry whose name is written as the bytes given (cp437 view of UTF-8 bytes), without the UTF-8 flag."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("cp437"), self.flag_bits & ~0x800


def zip_folder(folder: Path, archive: Path, utf8_flag: bool = True) -> Path:
    """``folder``'s content as a zip; without ``utf8_flag`` names are stored as raw UTF-8 bytes with the flag
    unset, as several LMSs write them."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if not path.is_file():
                continue
            name = path.relative_to(folder).as_posix()
            if utf8_flag:
                zf.write(path, name)
            else:
                info = _RawName(name.encode("utf-8").decode("cp437"), date_time=(2026, 12, 1, 20, 0, 0))
                zf.writestr(info, path.read_bytes())
    return archive
