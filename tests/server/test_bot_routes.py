"""The bots' REST routes (watchdog_lab/server/bot_handlers.py) on a real server, real bots."""

from __future__ import annotations

import asyncio
import itertools
import os
from pathlib import Path
from urllib.parse import quote

import pytest
from traitlets.config import Config

from watchdog_lab.vault import CreateConnection

from .botapi import LOOP_FOREVER, bot_path, describe, promote, wait_bot, wait_job, write_notebook

PASSWORD = "correct horse battery staple"
SECRET = "sk-live-" + "Zq8#kV2m" * 4

pytestmark = pytest.mark.usefixtures("stop_bots")


@pytest.fixture
def jp_server_config(bots_server_config: Config) -> Config:
    return bots_server_config


@pytest.fixture
def vault(make_vault):  # type: ignore[no-untyped-def]
    return make_vault(PASSWORD)


@pytest.fixture
def unlocked(vault, watchdog_app):  # type: ignore[no-untyped-def]
    """The server's vault, unlocked, with one connection named Exchange."""
    watchdog_app.vault.unlock(PASSWORD)
    watchdog_app.vault.add_connection(
        CreateConnection(name="Exchange", kind="generic", fields={"token": SECRET})
    )
    return watchdog_app.vault


def pid_alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ------------------------------------------------------------------------------ happy path


async def test_promote_answers_a_job_whose_steps_grow_until_the_bot_is_done(
    api, vault, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir / "research" / "strategy.ipynb", "print('hello')")
    response = await api.post("bots", {"notebook": "research/strategy.ipynb", "name": "Alpha"})
    assert response.code == 202
    job = response.json
    assert response.headers["Location"].endswith(f"watchdog-lab/bots/jobs/{job['id']}")
    seen = await wait_job(api, job["id"])
    final = seen[-1]
    assert final["state"] == "done" and final["error"] is None
    assert any(s["state"] == "running" for s in seen), "progress was observable while running"
    for earlier, later in itertools.pairwise(seen):
        assert later["steps"][: len(earlier["steps"])] == earlier["steps"]
    steps = final["steps"]
    for step in ("reading notebook", "checking dependencies", "writing kernelspec", "promoted"):
        assert step in steps
    assert steps.index("checking dependencies") < steps.index("promoted")
    assert final["bot"]["name"] == "Alpha" and final["bot"]["state"] == "stopped"


async def test_list_and_describe_show_a_promoted_bot_by_name_or_id(
    api, vault, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir / "a.ipynb", "print(1)")
    bot = await promote(api, notebook="a.ipynb", name="Beta Bot")
    listed = (await api.get("bots")).json["bots"]
    assert [b["id"] for b in listed] == [bot["id"]]
    assert (await describe(api, "Beta Bot"))["id"] == bot["id"]
    assert (await describe(api, "beta bot"))["id"] == bot["id"]
    assert (await describe(api, bot["id"]))["name"] == "Beta Bot"


async def test_logs_route_pages_through_what_the_bot_printed(api, vault, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "p.ipynb", "for i in range(5):\n    print('line', i, flush=True)")
    await promote(api, notebook="p.ipynb", name="Printer", start=True)
    await wait_bot(api, "Printer", lambda b: b["status"]["reason"] == "finished", what="finished")
    everything = (await api.get(bot_path("Printer", "logs"))).json
    stdout = "".join(r["text"] for r in everything["records"] if r["stream"] == "stdout")
    assert stdout == "".join(f"line {i}\n" for i in range(5))
    seqs = [r["seq"] for r in everything["records"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert everything["next_after"] == seqs[-1]
    page = (await api.get(bot_path("Printer", "logs") + "?after=2&limit=3")).json
    assert [r["seq"] for r in page["records"]] == [3, 4, 5] and page["next_after"] == 5
    tail = (await api.get(bot_path("Printer", "logs") + "?tail=2")).json
    assert [r["seq"] for r in tail["records"]] == seqs[-2:]


async def test_start_stop_and_restart_drive_the_runner(api, vault, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "loop.ipynb", LOOP_FOREVER)
    await promote(api, notebook="loop.ipynb", name="Looper", mode="continuous")
    started = (await api.post(bot_path("Looper", "start"))).json
    first_pid = started["status"]["pid"]
    assert started["desired_state"] == "running" and pid_alive(first_pid)
    await wait_bot(api, "Looper", lambda b: b["state"] == "running", what="running")
    restarted = await api.post(bot_path("Looper", "restart"))
    assert restarted.code == 200
    second_pid = restarted.json["status"]["pid"]
    assert second_pid != first_pid and not pid_alive(first_pid) and pid_alive(second_pid)
    stopped = await api.post(bot_path("Looper", "stop"))
    assert stopped.code == 200
    assert stopped.json["state"] == "stopped" and stopped.json["desired_state"] == "stopped"
    assert not pid_alive(second_pid)


async def test_delete_stops_the_bot_and_removes_it_everywhere(
    api, vault, jp_root_dir: Path, watchdog_home: Path
) -> None:
    write_notebook(jp_root_dir / "loop.ipynb", LOOP_FOREVER)
    bot = await promote(api, notebook="loop.ipynb", name="Doomed", mode="continuous", start=True)
    pid = bot["status"]["pid"]
    response = await api.delete(bot_path("Doomed"))
    assert response.code == 204 and response.text == ""
    assert not pid_alive(pid)
    assert (await api.get(bot_path("Doomed"))).code == 404
    assert (await api.get("bots")).json["bots"] == []
    assert not (watchdog_home / "bots" / bot["id"]).exists()


async def test_runs_are_listed_and_one_is_returned_with_the_secret_redacted(
    api, unlocked, jp_root_dir: Path
) -> None:
    write_notebook(
        jp_root_dir / "leak.ipynb",
        "import watchdog_lab as wd\nprint(wd.connection('Exchange').token)",
    )
    await promote(
        api,
        notebook="leak.ipynb",
        name="Leaky",
        connections=["Exchange"],
        password=PASSWORD,
        start=True,
    )
    await wait_bot(api, "Leaky", lambda b: b["status"]["reason"] == "finished", what="finished")
    runs = (await api.get(bot_path("Leaky", "runs"))).json["runs"]
    assert len(runs) == 1 and runs[0]["size"] > 0
    response = await api.get(bot_path("Leaky", "runs", runs[0]["name"]))
    assert response.code == 200
    assert SECRET not in response.text
    outputs = response.json["cells"][0]["outputs"]
    assert "".join(outputs[0]["text"]) == "[REDACTED:Exchange.token]\n"


async def test_grants_are_replaced_by_name_and_read_back(api, unlocked, jp_root_dir: Path) -> None:
    unlocked.add_connection(CreateConnection(name="Other", kind="generic", fields={"t": "x" * 20}))
    write_notebook(jp_root_dir / "g.ipynb", "print(1)")
    await promote(
        api, notebook="g.ipynb", name="Granted", connections=["Exchange"], password=PASSWORD
    )
    assert (await api.get(bot_path("Granted", "grants"))).json["connections"] == ["Exchange"]
    response = await api.call(
        "PUT", bot_path("Granted", "grants"), {"connections": ["Other"], "password": PASSWORD}
    )
    assert response.code == 200
    assert response.json == {"connections": ["Other"], "restart_needed": False}
    assert (await describe(api, "Granted"))["connections"] == ["Other"]
    unknown = await api.call(
        "PUT", bot_path("Granted", "grants"), {"connections": ["Nope"], "password": PASSWORD}
    )
    assert unknown.code == 404 and "Nope" in unknown.json["message"]
    assert (await describe(api, "Granted"))["connections"] == ["Other"]


async def test_grants_cannot_change_while_the_vault_is_locked(
    api, unlocked, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir / "g.ipynb", "print(1)")
    await promote(
        api, notebook="g.ipynb", name="Granted", connections=["Exchange"], password=PASSWORD
    )
    unlocked.lock()
    response = await api.call("PUT", bot_path("Granted", "grants"), {"connections": []})
    assert response.code == 423 and "unlock the vault" in response.json["message"]
    assert (await api.get(bot_path("Granted", "grants"))).code == 423
    unlocked.unlock(PASSWORD)
    assert (await api.get(bot_path("Granted", "grants"))).json["connections"] == ["Exchange"]


async def test_starting_a_bot_with_grants_while_locked_is_423_and_starts_nothing(
    api, unlocked, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir / "g.ipynb", "print(1)")
    bot = await promote(
        api, notebook="g.ipynb", name="Needs Keys", connections=["Exchange"], password=PASSWORD
    )
    unlocked.lock()
    response = await api.post(bot_path("Needs Keys", "start"))
    assert response.code == 423
    assert "unlock the vault" in response.json["message"]
    assert response.json["reason"] == "vault_locked"
    after = await describe(api, bot["id"])
    assert after["status"]["pid"] is None and after["desired_state"] == "stopped"


async def test_a_slow_stop_does_not_hold_up_the_servers_other_requests(
    api, vault, jp_root_dir: Path
) -> None:
    write_notebook(
        jp_root_dir / "stubborn.ipynb",
        "import signal, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "while True:\n    time.sleep(0.1)",
    )
    await promote(api, notebook="stubborn.ipynb", name="Stubborn", mode="continuous", start=True)
    await wait_bot(api, "Stubborn", lambda b: b["state"] == "running", what="running")
    stopping = asyncio.ensure_future(api.post(bot_path("Stubborn", "stop")))
    answered_while_stopping = 0
    while not stopping.done():
        assert (await api.get("bots")).code == 200
        # A server blocked by the stop would answer only once the stop is over.
        answered_while_stopping += not stopping.done()
        await asyncio.sleep(0.1)
    assert (await stopping).code == 200
    # The kernel ignores SIGINT and SIGTERM, so the stop waits out its grace period (seconds):
    # many requests fit in it unless the stop holds the server's event loop.
    assert answered_while_stopping >= 5


async def test_a_build_that_fails_ends_its_job_failed_with_the_reason_and_leaves_no_bot(
    api, vault, jp_root_dir: Path, watchdog_home: Path
) -> None:
    write_notebook(jp_root_dir / "dep.ipynb", "%pip install zzq-no-such-package-4711\nprint(1)")
    response = await api.post("bots", {"notebook": "dep.ipynb", "name": "Unbuildable"})
    assert response.code == 202
    final = (await wait_job(api, response.json["id"]))[-1]
    assert final["state"] == "failed" and final["bot"] is None
    assert "zzq-no-such-package-4711" in final["error"]
    assert (await api.get("bots")).json["bots"] == []
    assert not any((watchdog_home / "bots").iterdir())


async def test_promote_with_connections_and_no_vault_is_409_and_creates_no_bot(
    api, jp_root_dir: Path, watchdog_home: Path
) -> None:
    write_notebook(jp_root_dir / "a.ipynb", "print(1)")
    response = await api.post(
        "bots",
        {"notebook": "a.ipynb", "name": "Early", "connections": ["Exchange"], "password": PASSWORD},
    )
    assert response.code == 409 and response.json["reason"] == "vault_absent"
    assert (await api.get("bots")).json["bots"] == []
    assert not (watchdog_home / "bots").exists() or not any((watchdog_home / "bots").iterdir())


async def test_a_bot_without_connections_is_promoted_and_run_with_no_vault(
    api, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir / "a.ipynb", "print('no vault needed', 6 * 7)")
    bot = await promote(api, notebook="a.ipynb", name="Early", start=True)
    assert bot["name"] == "Early"
    done = await wait_bot(api, "Early", lambda b: b["state"] in ("stopped", "crashed"))
    assert done["state"] == "stopped", done
    assert (await api.get("vault")).json["state"] == "absent"


async def test_restarting_a_bot_with_grants_while_locked_is_423_and_leaves_it_running(
    api, unlocked, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir / "loop.ipynb", LOOP_FOREVER)
    await promote(
        api,
        notebook="loop.ipynb",
        name="Keyed Loop",
        connections=["Exchange"],
        password=PASSWORD,
        mode="continuous",
        start=True,
    )
    before = await wait_bot(api, "Keyed Loop", lambda b: b["state"] == "running")
    unlocked.lock()
    response = await api.post(bot_path("Keyed Loop", "restart"))
    assert response.code == 423 and "unlock the vault" in response.json["message"]
    after = await describe(api, "Keyed Loop")
    assert after["state"] == "running" and after["status"]["pid"] == before["status"]["pid"]
    assert pid_alive(before["status"]["pid"])


# ------------------------------------------------------------------------------ bad inputs


@pytest.fixture
def outside_notebook(tmp_path: Path) -> Path:
    return write_notebook(tmp_path / "outside" / "secret.ipynb", "print('outside')")


@pytest.mark.parametrize(
    ("notebook", "status", "words"),
    [
        ("ABSOLUTE", 400, "absolute"),
        ("../outside/secret.ipynb", 400, "'..'"),
        ("sub/../../outside/secret.ipynb", 400, "'..'"),
        ("notes.txt", 400, "not a notebook"),
        ("escape.ipynb", 400, "outside the Jupyter root"),
        ("missing.ipynb", 404, "No notebook"),
        (".hidden/strategy.ipynb", 400, "hidden"),
        ("folder.ipynb", 400, "not a file"),
    ],
)
async def test_a_notebook_path_outside_the_root_or_not_a_notebook_is_refused_and_nothing_made(
    api,
    vault,
    jp_root_dir: Path,
    watchdog_home: Path,
    outside_notebook: Path,
    notebook: str,
    status: int,
    words: str,
) -> None:
    (jp_root_dir / "sub").mkdir()
    (jp_root_dir / "notes.txt").write_text("print(1)")
    (jp_root_dir / "folder.ipynb").mkdir()
    os.symlink(outside_notebook, jp_root_dir / "escape.ipynb")
    write_notebook(jp_root_dir / ".hidden" / "strategy.ipynb", "print(1)")
    path = str(outside_notebook) if notebook == "ABSOLUTE" else notebook
    response = await api.post("bots", {"notebook": path, "name": "Nope"})
    assert response.code == status, response.text
    assert words in response.json["message"]
    assert (await api.get("bots")).json["bots"] == []
    assert not (watchdog_home / "bots").exists() or not any((watchdog_home / "bots").iterdir())


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("DELETE", ""),
        ("POST", "/start"),
        ("POST", "/stop"),
        ("POST", "/restart"),
        ("GET", "/logs"),
        ("GET", "/logs/stream"),
        ("GET", "/runs"),
        ("GET", "/runs/20260101T000000-r00001.ipynb"),
        ("GET", "/grants"),
        ("PUT", "/grants"),
    ],
)
async def test_an_unknown_bot_is_a_404_on_every_route(api, vault, method: str, suffix: str) -> None:
    body = {"connections": []} if method == "PUT" else None
    response = await api.call(method, "bots/Ghost" + suffix, body)
    assert response.code == 404
    assert response.json["reason"] == "bot_not_found" and "Ghost" in response.json["message"]


async def test_a_taken_name_is_409_in_any_case(api, vault, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "a.ipynb", "print(1)")
    await promote(api, notebook="a.ipynb", name="Unique")
    response = await api.post("bots", {"notebook": "a.ipynb", "name": "UNIQUE"})
    assert response.code == 409 and response.json["reason"] == "duplicate_bot"
    assert len((await api.get("bots")).json["bots"]) == 1


@pytest.mark.parametrize("name", ["", " leading", "slash/name", "dots..\u00e9", "x" * 200])
async def test_an_invalid_bot_name_is_422(api, vault, jp_root_dir: Path, name: str) -> None:
    write_notebook(jp_root_dir / "a.ipynb", "print(1)")
    response = await api.post("bots", {"notebook": "a.ipynb", "name": name})
    assert response.code == 422 and response.json["reason"] == "invalid_name"
    assert (await api.get("bots")).json["bots"] == []


async def test_refused_packages_are_422_and_each_refusal_is_listed(
    api, vault, jp_root_dir: Path, watchdog_home: Path
) -> None:
    write_notebook(
        jp_root_dir / "bad.ipynb",
        "%pip install reqeusts\n%pip install https://evil.example/x.whl\nimport pip",
    )
    response = await api.post("bots", {"notebook": "bad.ipynb", "name": "Bad"})
    assert response.code == 422 and response.json["reason"] == "packages_refused"
    message = response.json["message"]
    assert "'reqeusts'" in message and "did you mean 'requests'" in message
    assert "evil.example" in message and "'pip'" in message
    assert message.count("\n  - ") == 3
    assert (await api.get("bots")).json["bots"] == []
    assert not (watchdog_home / "bots").exists() or not any((watchdog_home / "bots").iterdir())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"notebook": "a.ipynb", "name": 5}, "name"),
        ({"notebook": "a.ipynb", "name": "Ok", "start": "yes"}, "start"),
        ({"notebook": "a.ipynb", "name": "Ok", "connections": "Exchange"}, "connections"),
        ({"notebook": "a.ipynb", "name": "Ok", "mode": "sometimes"}, "mode"),
        ({"notebook": "a.ipynb", "name": "Ok", "interval": -1}, "interval"),
        ({"notebook": "a.ipynb", "name": "Ok", "surprise": 1}, "surprise"),
        ({"name": "Ok"}, "notebook"),
    ],
)
async def test_a_body_of_the_wrong_shape_is_422_naming_the_field(
    api, vault, jp_root_dir: Path, body: dict, field: str
) -> None:
    write_notebook(jp_root_dir / "a.ipynb", "print(1)")
    response = await api.post("bots", body)
    assert response.code == 422 and response.json["reason"] == "invalid_body"
    assert f"'{field}'" in response.json["message"]
    assert (await api.get("bots")).json["bots"] == []


async def test_mode_every_without_an_interval_is_refused(api, vault, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "a.ipynb", "print(1)")
    response = await api.post("bots", {"notebook": "a.ipynb", "name": "Ok", "mode": "every"})
    assert response.code == 400 and "interval" in response.json["message"]


async def test_an_unknown_job_is_404(api) -> None:
    response = await api.get("bots/jobs/" + "0" * 32)
    assert response.code == 404 and response.json["reason"] == "job_not_found"


async def test_run_names_and_log_queries_are_validated_before_any_file_is_read(
    api, vault, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir / "a.ipynb", "print(1)")
    await promote(api, notebook="a.ipynb", name="Runs")
    for run in ("bot.json", "..%2Fbot.json", "..%2F..%2F..%2Fvault.db", "20260101T000000-r1.ipynb"):
        response = await api.get(bot_path("Runs", "runs") + "/" + run)
        assert response.code == 400, run
        assert response.json["reason"] == "invalid_run_name"
    missing = await api.get(bot_path("Runs", "runs", "20260101T000000-r00001.ipynb"))
    assert missing.code == 404 and missing.json["reason"] == "run_not_found"
    for query in ("after=-1", "after=x", "limit=0", "limit=999999", "tail=a", "after=1&after=2"):
        response = await api.get(bot_path("Runs", "logs") + "?" + query)
        assert response.code == 400, query
        assert response.json["reason"] == "invalid_query"


async def test_bot_routes_need_authentication(api) -> None:
    for path in ("bots", "bots/x", "bots/x/logs/stream", "bots/jobs/" + "0" * 32):
        assert (await api.get(path, auth=False)).code == 403


async def test_names_with_spaces_work_in_urls(api, vault, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "a.ipynb", "print(1)")
    bot = await promote(api, notebook="a.ipynb", name="With Space")
    assert (await api.get("bots/" + quote("With Space"))).json["id"] == bot["id"]
