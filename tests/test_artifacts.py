"""Artifacts: versions, dedup, aliases, resolution, store, download verification, registry,
lineage in run dirs, disabled mode, and the seeds' snippet run as-is."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from conftest import make_run

import recorder
import recorder as wandb
from recorder.artifacts import (
    Artifact,
    ArtifactCorruptedError,
    ArtifactMissingError,
    ArtifactNotFoundError,
)
from recorder.journal import read_run_artifacts as run_artifacts


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def objects(root: Path, project: str = "p") -> list[Path]:
    base = root / project / "_artifacts" / "objects"
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []


def log_text(run, name: str, files: dict[str, str], tmp: Path, aliases=None, type="dataset") -> Artifact:
    art = Artifact(name, type=type)
    for rel, text in files.items():
        art.add_file(write(tmp / "src" / name / rel, text), name=rel)
    return run.log_artifact(art, aliases=aliases)


@pytest.fixture
def run(runs_root):
    r = make_run(runs_root, "p")
    yield r
    r.finish()


# -- versions, dedup, aliases ----------------------------------------------------------------
def test_versions_count_up_and_identical_content_is_not_duplicated(run, runs_root, tmp_path):
    a0 = log_text(run, "ds", {"a.txt": "one", "b.txt": "two"}, tmp_path)
    assert (a0.version, a0.name, a0.state) == ("v0", "ds:v0", "COMMITTED")
    # Same bytes again (new files, same content): the existing version comes back.
    again = log_text(run, "ds", {"a.txt": "one", "b.txt": "two"}, tmp_path / "again")
    assert again.version == "v0" and again.digest == a0.digest
    a1 = log_text(run, "ds", {"a.txt": "one", "b.txt": "three"}, tmp_path)
    assert a1.version == "v1" and a1.digest != a0.digest
    # a.txt is shared by v0 and v1: the store keeps one copy of it (3 distinct contents).
    assert len(objects(runs_root)) == 3
    vdir = runs_root / "p" / "_artifacts" / "collections" / "ds"
    assert sorted(p.name for p in vdir.glob("v*.json")) == ["v0.json", "v1.json"]
    manifest = json.loads((vdir / "v1.json").read_text())
    assert [(e["path"], e["size"]) for e in manifest["entries"]] == [("a.txt", 3), ("b.txt", 5)]
    assert manifest["producer"]["run_id"] == run.id
    # Content equal to an older (not the previous) version is a new version.
    a2 = log_text(run, "ds", {"a.txt": "one", "b.txt": "two"}, tmp_path / "third")
    assert a2.version == "v2"


def test_aliases_latest_is_automatic_and_custom_ones_move(run, tmp_path):
    a0 = log_text(run, "model", {"w": "0"}, tmp_path, aliases=["best", "production"])
    assert a0.aliases == ["latest", "best", "production"]
    a1 = log_text(run, "model", {"w": "1"}, tmp_path, aliases=["best"])
    assert a1.aliases == ["latest", "best"]
    api = recorder.Api()
    assert api.artifact("p/model:v0").aliases == ["production"]
    assert api.artifact("p/model:best").version == "v1"
    assert api.artifact("p/model:production").version == "v0"
    assert api.artifact("p/model:latest").version == "v1"
    # Aliases moved by editing a logged artifact and saving it (the wandb idiom).
    old = api.artifact("p/model:v0")
    old.aliases.append("best")
    old.save()
    assert api.artifact("p/model:best").version == "v0"
    assert "best" not in api.artifact("p/model:v1").aliases
    with pytest.raises(ValueError, match="version numbers"):
        log_text(run, "model", {"w": "2"}, tmp_path, aliases=["v7"])


def test_every_reference_form_resolves(run, runs_root, tmp_path):
    log_text(run, "ds", {"x": "0"}, tmp_path, aliases=["gold"])
    log_text(run, "ds", {"x": "1"}, tmp_path)
    assert run.use_artifact("ds").version == "v1"
    assert run.use_artifact("ds:latest").version == "v1"
    assert run.use_artifact("ds:v0").version == "v0"
    assert run.use_artifact("ds:gold").version == "v0"
    assert run.use_artifact("p/ds:gold").version == "v0"
    assert run.use_artifact("someone/p/ds:v1").version == "v1"
    assert recorder.Api(runs_root).artifact("p/ds:v0").get_entry("x").digest
    with pytest.raises(ArtifactNotFoundError, match="no version or alias 'v9'"):
        run.use_artifact("ds:v9")
    with pytest.raises(ArtifactNotFoundError):
        run.use_artifact("missing:latest")
    with pytest.raises(ValueError, match="type"):
        run.use_artifact("ds:latest", type="model")


def test_type_of_a_name_cannot_change(run, tmp_path):
    log_text(run, "thing", {"x": "0"}, tmp_path, type="dataset")
    with pytest.raises(ValueError, match="has type 'dataset'"):
        log_text(run, "thing", {"x": "1"}, tmp_path, type="model")


def test_log_artifact_from_a_path(run, tmp_path):
    write(tmp_path / "d" / "f.txt", "hello")
    art = run.log_artifact(str(tmp_path / "d"), name="folder", type="raw")
    assert art.version == "v0" and [e.path for e in art.files()] == ["f.txt"]
    art2 = run.log_artifact(write(tmp_path / "model.pth", "w"), type="model")
    assert art2.name == "model.pth:v0" and art2.type == "model"


# -- files: new_file, references, download ---------------------------------------------------
def test_new_file_get_entry_and_large_files_round_trip(run, tmp_path):
    art = Artifact("blob", type="data")
    with art.new_file("notes/readme.txt") as f:
        f.write("written in place")
    big = os.urandom(3 * (1 << 20) + 17)  # several hash chunks
    art.add_file(write(tmp_path / "big.bin", big))
    run.log_artifact(art)
    out = Path(art.download(tmp_path / "out"))
    assert (out / "notes" / "readme.txt").read_text() == "written in place"
    assert (out / "big.bin").read_bytes() == big
    entry = art.get_entry("big.bin")
    assert entry.size == len(big) and art.get_path("big.bin").digest == entry.digest
    single = tmp_path / "single"
    assert Path(entry.download(single)).read_bytes() == big
    with pytest.raises(KeyError):
        art.get_entry("nope")
    with pytest.raises(ValueError, match="immutable"):
        art.add_file(tmp_path / "big.bin")


def test_default_download_folder_and_hard_links(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    art = log_text(run, "ds", {"a.txt": "alpha"}, tmp_path)
    path = art.download()
    assert Path(path) == Path("artifacts") / "ds:v0"
    assert (Path(path) / "a.txt").read_text() == "alpha"
    linked = Path(art.download(tmp_path / "linked", link=True))
    obj = objects(tmp_path / "runs")[0]
    assert os.path.samefile(linked / "a.txt", obj)
    assert not os.access(obj, os.W_OK) or os.geteuid() == 0  # store objects are read-only


def test_corrupted_store_object_is_detected_never_used(run, runs_root, tmp_path):
    art = log_text(run, "ds", {"good.txt": "fine", "bad.txt": "precious"}, tmp_path)
    obj = recorder.artifacts.object_store.ObjectStore(runs_root / "p" / "_artifacts").path(
        art.get_entry("bad.txt").digest
    )
    os.chmod(obj, 0o644)
    obj.write_bytes(b"PRECIOUS")  # same size, different bytes
    fresh = recorder.Api().artifact("p/ds:latest")
    with pytest.raises(ArtifactCorruptedError, match="corrupted"):
        fresh.download(tmp_path / "out")
    assert not (tmp_path / "out" / "bad.txt").exists()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".tmp-")]
    with pytest.raises(ArtifactCorruptedError):
        fresh.verify()
    with pytest.raises(ArtifactCorruptedError):
        fresh.download(tmp_path / "linked", link=True)
    # A download already on disk is verified too, and a tampered file is replaced.
    os.chmod(obj, 0o644)
    obj.write_bytes(b"precious")
    fresh.download(tmp_path / "out")
    (tmp_path / "out" / "good.txt").write_text("tampered")
    with pytest.raises(ArtifactCorruptedError):
        fresh.verify(tmp_path / "out")
    fresh.download(tmp_path / "out")
    assert (tmp_path / "out" / "good.txt").read_text() == "fine"
    fresh.verify(tmp_path / "out")
    # A truncated object, and a missing one.
    os.chmod(obj, 0o644)
    obj.write_bytes(b"pre")
    with pytest.raises(ArtifactCorruptedError):
        fresh.download(tmp_path / "out2")
    obj.unlink()
    with pytest.raises(ArtifactMissingError):
        fresh.download(tmp_path / "out3")


def test_corrupted_object_is_repaired_by_logging_the_same_bytes_again(run, runs_root, tmp_path):
    art = log_text(run, "ds", {"f": "abcdef"}, tmp_path)
    obj = objects(runs_root)[0]
    os.chmod(obj, 0o644)
    obj.write_bytes(b"abc")  # truncated: wrong size
    log_text(run, "other", {"f": "abcdef"}, tmp_path)
    art.download(tmp_path / "out")
    assert (tmp_path / "out" / "f").read_text() == "abcdef"


def test_references_are_checksummed_when_local(run, runs_root, tmp_path):
    ref = write(tmp_path / "outside" / "big.csv", "x,y\n1,2\n")
    write(tmp_path / "outside" / "dir" / "a.txt", "a")
    art = Artifact("refs", type="dataset")
    art.add_reference(ref.as_uri())
    art.add_reference((tmp_path / "outside" / "dir").as_uri(), name="folder")
    art.add_reference("s3://bucket/key/model.bin")
    run.log_artifact(art)
    assert objects(runs_root) == []  # references stay where they are
    e = art.get_entry("big.csv")
    assert e.ref == ref.as_uri() and e.size == 8 and len(e.digest) == 64
    assert art.get_entry("folder/a.txt").digest
    assert art.get_entry("model.bin").ref == "s3://bucket/key/model.bin"
    with pytest.raises(ArtifactMissingError, match="offline"):
        art.download(tmp_path / "out")
    out = Path(art.download(tmp_path / "out", allow_missing_references=True))
    assert (out / "big.csv").read_text() == "x,y\n1,2\n"
    assert (out / "folder" / "a.txt").read_text() == "a"
    ref.write_text("changed")
    with pytest.raises(ArtifactCorruptedError, match="changed since it was logged"):
        art.download(tmp_path / "out2", allow_missing_references=True)
    # Same reference, same bytes -> same digest -> dedup; changed bytes -> new version.
    art2 = Artifact("refs", type="dataset")
    art2.add_reference(ref.as_uri())
    assert run.log_artifact(art2).version == "v1"


# -- registry ------------------------------------------------------------------------------
def test_registry_collection_has_its_own_versions_and_aliases(run, runs_root, tmp_path):
    m0 = log_text(run, "resnet", {"w": "0"}, tmp_path, type="model")
    m1 = log_text(run, "resnet", {"w": "1"}, tmp_path, type="model")
    other = log_text(run, "vit", {"w": "v"}, tmp_path, type="model")
    l0 = run.link_artifact(m1, "model-registry/production-models", aliases=["staging"])
    l1 = run.link_artifact(m0, "model-registry/production-models")
    l2 = run.link_artifact(other, "model-registry/production-models", aliases=["staging"])
    assert [l.version for l in (l0, l1, l2)] == ["v0", "v1", "v2"]
    assert (l0.source_name, l1.source_name, l2.source_name) == ("resnet:v1", "resnet:v0", "vit:v0")
    # Linking a member again adds nothing (its aliases still move).
    again = run.link_artifact(m1, "model-registry/production-models", aliases=["production"])
    assert again.version == "v0"
    api = recorder.Api(runs_root)
    assert api.artifact("model-registry/production-models:latest").source_name == "vit:v0"
    assert api.artifact("model-registry/production-models:staging").source_name == "vit:v0"
    prod = api.artifact("model-registry/production-models:production")
    assert prod.name == "production-models:v0" and prod.aliases == ["production"]
    assert (Path(prod.download(tmp_path / "prod")) / "w").read_text() == "1"
    assert [a.version for a in api.artifacts("model", "model-registry/production-models")] == ["v0", "v1", "v2"]
    # Artifact.link without a run; one-component targets go to a registry named after the project.
    recorder.finish()
    api.artifact("p/vit:v0").link("favourites")
    assert api.artifact("p/favourites:latest").source_name == "vit:v0"
    assert (runs_root / "_registry" / "model-registry" / "production-models" / "v2.json").is_file()
    links = run_artifacts(Path(run.dir))["links"]
    assert {l["target"] for l in links} == {
        "model-registry/production-models:v0",
        "model-registry/production-models:v1",
        "model-registry/production-models:v2",
    }


def test_link_of_an_unlogged_artifact_logs_it_first(run, tmp_path):
    art = Artifact("m", type="model")
    art.add_file(write(tmp_path / "m.bin", "m"))
    linked = run.link_artifact(art, "reg/coll")
    assert art.version == "v0" and linked.name == "coll:v0"


# -- lineage in the run dir, disabled mode, Api ----------------------------------------------
def test_run_dir_lists_inputs_and_outputs(runs_root, tmp_path):
    producer = make_run(runs_root, "p")
    log_text(producer, "ds", {"x": "0"}, tmp_path)
    producer.finish()
    consumer = make_run(runs_root, "p")
    art = consumer.use_artifact("ds:latest")
    consumer.finish()
    assert art.logged_by() == producer.id and art.used_by() == [consumer.id]
    assert [(i["name"], i["version"]) for i in run_artifacts(Path(producer.dir))["outputs"]] == [("ds", 0)]
    assert [(i["name"], i["version"]) for i in run_artifacts(Path(consumer.dir))["inputs"]] == [("ds", 0)]
    api = recorder.Api(runs_root)
    assert [a.name for a in api.run(f"p/{consumer.id}").used_artifacts()] == ["ds:v0"]
    assert [a.name for a in api.run(f"p/{producer.id}").logged_artifacts()] == ["ds:v0"]
    assert {r.id for r in api.runs("p")} == {producer.id, consumer.id}


def test_disabled_mode_writes_nothing(tmp_path):
    run = wandb.init(dir=tmp_path / "runs", project="p", mode="disabled")
    art = Artifact("ds", type="dataset")
    art.add_file(write(tmp_path / "f.txt", "x"))
    assert wandb.log_artifact(art, aliases=["best"]) is art
    assert art.is_draft() and art.version is None
    assert run.link_artifact(art, "reg/coll") is None
    wandb.finish()
    assert not (tmp_path / "runs").exists()


def test_api_without_a_run_and_overrides(run, runs_root, tmp_path):
    log_text(run, "ds", {"x": "0"}, tmp_path)
    log_text(run, "ds", {"x": "1"}, tmp_path)
    run.finish()
    api = wandb.Api({"project": "p", "root": str(runs_root)})
    assert api.artifact("ds:v1").download(tmp_path / "o").endswith("o")
    assert api.artifact_exists("p/ds:v1") and not api.artifact_exists("p/ds:v5")
    assert [a.version for a in api.artifacts("dataset", "ds")] == ["v0", "v1"]
    assert api.artifact_collections("p") == ["ds"]
    # Artifact.save() without a run publishes under LOUPE_DIR, no producer.
    draft = Artifact("loose", type="misc")
    draft.add_file(write(tmp_path / "l.txt", "l"))
    draft.save(project="p")
    assert recorder.Api(runs_root).artifact("p/loose:latest").logged_by() is None


# -- the seeds' workflow, as written ----------------------------------------------------------
SEED = textwrap.dedent("""
    # Create artifact
    artifact = wandb.Artifact(
        name='training-dataset',
        type='dataset',
        description='ImageNet training split',
        metadata={'size': '1.2M images', 'split': 'train'}
    )

    # Add files
    artifact.add_file('data/train.csv')
    artifact.add_dir('data/images/')

    # Log artifact
    wandb.log_artifact(artifact)

    # Download and use artifact
    run = wandb.init(project="my-project")

    # Download artifact
    artifact = run.use_artifact('training-dataset:latest')
    artifact_dir = artifact.download()

    # Use the data
    data = load_data(f"{artifact_dir}/train.csv")

    # Log model as artifact
    model_artifact = wandb.Artifact(
        name='resnet50-model',
        type='model',
        metadata={'architecture': 'ResNet50', 'accuracy': 0.95}
    )

    model_artifact.add_file('model.pth')
    wandb.log_artifact(model_artifact, aliases=['best', 'production'])

    # Link to model registry
    run.link_artifact(model_artifact, 'model-registry/production-models')

    # Or use Artifacts (recommended)
    artifact = wandb.Artifact('model', type='model')
    artifact.add_file('checkpoint.pth')
    wandb.log_artifact(artifact)

    # Save final model
    artifact = wandb.Artifact('final-model', type='model')
    artifact.add_file('model.pth')
    wandb.log_artifact(artifact)
""")


def test_seed_artifacts_workflow_runs_as_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "data" / "train.csv", "a,b\n1,2\n")
    write(tmp_path / "data" / "images" / "0.png", b"\x89PNG0")
    write(tmp_path / "data" / "images" / "1.png", b"\x89PNG1")
    write(tmp_path / "model.pth", b"weights")
    write(tmp_path / "checkpoint.pth", b"ckpt")
    root = tmp_path / "runs"
    first = wandb.init(dir=root, project="my-project", system_interval=0, capture_console=False)
    ns = {"wandb": wandb, "load_data": lambda p: Path(p).read_text()}
    exec(compile(SEED, "seed_002_artifacts", "exec"), ns)
    assert ns["run"] is first
    assert ns["data"] == "a,b\n1,2\n"
    assert sorted(p.name for p in Path(ns["artifact_dir"]).rglob("*")) == ["0.png", "1.png", "train.csv"]
    wandb.finish()
    api = wandb.Api(root)
    ds = api.artifact("my-project/training-dataset:latest")
    assert ds.metadata == {"size": "1.2M images", "split": "train"} and ds.description == "ImageNet training split"
    assert api.artifact("my-project/resnet50-model:production").aliases == ["latest", "best", "production"]
    linked = api.artifact("model-registry/production-models:latest")
    assert linked.source_name == "resnet50-model:v0"
    assert (Path(linked.download(tmp_path / "dl")) / "model.pth").read_bytes() == b"weights"
    # model.pth logged twice under different names is stored once.
    assert len(objects(root, "my-project")) == 5
