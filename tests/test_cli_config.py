"""The course's autograder.toml gives defaults; flags override; a wrong key is an error, not a silent default."""
from autograder import cli
from autograder.assignment import Course


def parse(course, monkeypatch, *argv):
    monkeypatch.chdir(course)
    parser = cli.build_parser()
    cli._config_defaults(parser)
    return parser.parse_args(list(argv))


def test_settings_file_sets_defaults_and_flags_win(mini_course, monkeypatch):
    (mini_course / "autograder.toml").write_text('[grade]\nworkers = 3\ntimeout = 12.5\nscheduler = "tcp://h:8786"\n'
                                                 '[validate]\nworkers = 1\n')
    args = parse(mini_course, monkeypatch, "grade", "mini", "subs")
    assert (args.workers, args.timeout, args.scheduler) == (3, 12.5, "tcp://h:8786")
    args = parse(mini_course, monkeypatch, "grade", "mini", "subs", "--workers", "1")
    assert args.workers == 1
    assert parse(mini_course, monkeypatch, "validate").workers == 1
    assert Course.find(mini_course).root == mini_course


def test_unknown_setting_is_reported(mini_course, monkeypatch, capsys):
    (mini_course / "autograder.toml").write_text("[grade]\nworkerz = 3\n")
    monkeypatch.chdir(mini_course)
    assert cli.main(["grade", "mini", "subs"]) == 1
    assert "unknown setting(s) in [grade]: workerz" in capsys.readouterr().err
