"""`gateway report`: the periodic evaluation per agency, wilaya and provider, as CSV and HTML."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.audit import checkpoints, report
from gateway.cli import report_foresight
from gateway.cli.common import add_home, home_path, opened_store
from gateway.insights import evaluation
from gateway.texts.report import FORESIGHT


def register(subparsers: Any) -> None:
    periodic = subparsers.add_parser("report", help="periodic report per agency, wilaya and provider (CSV and HTML)")
    add_home(periodic)
    periodic.add_argument(
        "--period",
        choices=report.PERIODS,
        default="month",
        help="a UTC calendar month (default), ISO week or day; by default the last complete one",
    )
    periodic.add_argument("--month", type=_period_value(report.month), metavar="YYYY-MM")
    periodic.add_argument("--week", type=_period_value(report.week), metavar="YYYY-Www")
    periodic.add_argument("--day", type=_period_value(report.day), metavar="YYYY-MM-DD")
    periodic.add_argument("--out", type=home_path, help="output folder (default HOME/reports/<period>/)")
    periodic.set_defaults(func=command, parser=periodic)


def command(args: argparse.Namespace) -> int:
    for kind in report.PERIODS:
        if getattr(args, kind) is not None and kind != args.period:
            args.parser.error(f"argument --{kind}: needs --period {kind}")  # exits 2, as argparse does
    period = getattr(args, args.period) or report.last_complete(args.period, dt.datetime.now(dt.UTC))
    out = args.out or args.home / "reports" / period.label
    return asyncio.run(_write(args.home, period, out))


async def _write(home: Path, period: report.Period, out: Path) -> int:
    async with opened_store(home) as store:
        built = await report.build(store, period)
        foresight = await evaluation.evaluate(store, period.since, period.until)
    anchors = checkpoints.last_of_each_day(home, period.since, period.until)
    section = (report_foresight.PAGE, *FORESIGHT)
    for path in [*report.write(built, out, anchors, [section]), *report_foresight.write(built, foresight, out)]:
        print(path)
    overall = built.total()
    sla = f"{report.percent(overall)} % answered within SLA" if overall.sla_bound else "no SLA-bound request"
    print(f"report {period.label}: {overall.volume} requests, {sla}")
    return 0


def _period_value(parse: Callable[[str], report.Period]) -> Callable[[str], report.Period]:
    """An argparse type for --month, --week or --day: a bad value is a usage error (exit 2)."""

    def check(value: str) -> report.Period:
        try:
            return parse(value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return check
