"""The `derivecert` command for metadata authors and certifying bodies.

Exit codes: 0 no dataset rejected, 1 some dataset rejected, 2 unusable input (any error
DeriveCert can explain: syntax, format, size, missing file, bad option), 3 internal error.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Optional

import functools

import typer
from rich.console import Console
from rich.markup import escape

from .errors import DeriveCertError, InputError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False,
                  help="Identify and certify medical and health derived data (医疗健康领域衍生数据认定).")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

UI = {
    "zh": {"verdict": "结论", "derived": "衍生数据", "yes": "是", "no": "否", "types": "类型", "findings": "发现",
           "filing": "备案", "valid_until": "有效期至", "none": "无", "classification": "分类", "because": "依据",
           "personal": "个人信息", "primary": "一次衍生", "secondary": "二次衍生", "summary": "共 {n} 个数据集：{counts}",
           "summary_one": "共 1 个数据集：{counts}", "summary_sources": "（另有 {n} 个来源数据集不在认定范围内）", "summary_sources_one": "（另有 1 个来源数据集不在认定范围内）",
           "sources": "来源数据集（本身不在认定范围内）",
           "certified": "通过认定", "conditional": "有条件通过", "rejected": "不予认定", "not-derived": "非衍生数据",
           "scenario": "场景", "technique": "技术", "granularity": "粒度", "grade": "脱敏等级", "level": "敏感等级",
           "candidates": "候选", "level_is": "敏感等级 {level}", "special": "特殊类别", "modality": "形态", "category": "类别"},
    "en": {"verdict": "verdict", "derived": "derived", "yes": "yes", "no": "no", "types": "types", "findings": "findings",
           "filing": "filing", "valid_until": "valid until", "none": "none", "classification": "classification", "because": "because",
           "personal": "personal information", "primary": "primary", "secondary": "secondary", "summary": "{n} datasets: {counts}",
           "summary_one": "1 dataset: {counts}", "summary_sources": " (and {n} source datasets not under certification)",
           "summary_sources_one": " (and 1 source dataset not under certification)",
           "sources": "sources (not under certification themselves)",
           "certified": "certified", "conditional": "conditional", "rejected": "rejected", "not-derived": "not derived",
           "scenario": "scenario", "technique": "technique", "granularity": "granularity", "grade": "grade", "level": "level",
           "candidates": "candidates", "level_is": "{level}", "special": "special", "modality": "modality", "category": "category"},
}
STYLE = {"certified": "bold green", "conditional": "bold yellow", "rejected": "bold red", "not-derived": "bold blue"}


class Lang(str, Enum):
    zh = "zh"
    en = "en"


class Reasoner(str, Enum):
    rl = "rl"
    hermit = "hermit"


class CertifyFormat(str, Enum):
    text = "text"
    json = "json"
    turtle = "turtle"


class ReportFormat(str, Enum):
    turtle = "turtle"
    json = "json"


PathsArg = typer.Argument(..., help="Description files, or folders searched recursively (.ttl .trig .nt .nq .rdf .jsonld).")
LangOpt = typer.Option(Lang.en, "--lang", help="Language of messages and labels.")
ReasonerOpt = typer.Option(Reasoner.rl, "--reasoner", help="rl: fast OWL 2 RL (default); hermit: complete OWL 2 DL (needs Java).")
OnOpt = typer.Option(None, "--on", help="Validation date (YYYY-MM-DD), e.g. to check authorizations as of a day. Default: today.")
ThresholdsOpt = typer.Option(None, "--thresholds", help="A threshold profile (Turtle) overriding the default thresholds.")


def command(fn):
    """Register a command whose return value is the exit code, and whose errors never show a
    traceback: DeriveCert's own errors exit 2 with what / where / hint, anything else exits 3."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            code = fn(*args, **kwargs)
        except DeriveCertError as exc:
            err.print(f"[bold red]error:[/] {escape(exc.where + ': ' if exc.where else '')}{escape(exc.message)}")
            if exc.hint:
                err.print(f"  [dim]hint:[/] {escape(exc.hint)}")
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            err.print(f"[bold red]internal error:[/] {escape(type(exc).__name__)}: {escape(str(exc))}")
            err.print("  [dim]hint:[/] please report this with the input that caused it")
            raise typer.Exit(3) from None
        raise typer.Exit(code or 0)

    return app.command()(wrapper)


def _engine(reasoner: Reasoner, thresholds: Optional[Path]):
    from .engine import Engine
    from .shacl import load_threshold_profile

    return Engine(reasoner=reasoner.value, thresholds=load_threshold_profile(thresholds) if thresholds else None)


def _day(value: Optional[str]) -> Optional[date]:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--on {value!r} is not a date", hint="write it as YYYY-MM-DD") from None


def _progress(total: int):
    """A progress bar on stderr for batches (silent for one file or when stderr is not a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    if total <= 1 or not err.is_terminal:
        return None, (lambda n: None)
    bar = Progress(TextColumn("parsing"), BarColumn(), MofNCompleteColumn(), console=err, transient=True)
    task = bar.add_task("parse", total=total)
    bar.start()
    return bar, (lambda n: bar.advance(task, n))


@command
def certify(
    paths: list[Path] = PathsArg,
    format: CertifyFormat = typer.Option(CertifyFormat.text, "--format", "-f", help="text (readable), json (§6 results), turtle (results and filing records)."),
    lang: Lang = LangOpt,
    reasoner: Reasoner = ReasonerOpt,
    on: Optional[str] = OnOpt,
    thresholds: Optional[Path] = ThresholdsOpt,
    workers: int = typer.Option(os.cpu_count() or 1, "--workers", min=1, help="Processes for large batches (default: all cores)."),
) -> int:
    """Certify every dcat:Dataset described in PATHS: classification, findings, verdict, filing."""
    from .engine import collect_files

    engine = _engine(reasoner, thresholds)
    engine.workers = workers
    files = collect_files(paths)
    if not files:
        raise InputError("no description files found", where=" ".join(map(str, paths)), hint="give .ttl/.trig/.nt/.nq/.rdf/.jsonld files or folders holding them")
    bar, tick = _progress(len(files))
    try:
        run = engine.certify_files(files, progress=tick, on=_day(on))
    finally:
        if bar:
            bar.stop()
    if format is CertifyFormat.json:
        out.print_json(json.dumps([r.to_dict() for r in run.results], ensure_ascii=False))
    elif format is CertifyFormat.turtle:
        sys.stdout.write(run.result_graph.serialize(format="turtle"))
    else:
        sources = _source_iris(run, engine, files) if any(r.verdict == "not-derived" for r in run.results) else set()
        _print_results(run.results, lang.value, sources)
    return 1 if run.any_rejected else 0


def _print_results(results, lang: str, sources: set[str] = frozenset()) -> None:
    """The text report: labels from the ontology in `lang`, severities translated, paths as
    prefixed names.  Datasets that are only named as sources of others (no source of their own,
    so "not derived" with P-01) are not under certification: one line lists them."""
    from .wording import class_label, code_label, prefixed, severity

    t = UI[lang]
    counts: dict[str, int] = {}
    source_only = [r for r in results if str(r.dataset) in sources and r.verdict == "not-derived" and not r.classification.is_sourced]
    certified = [r for r in results if r not in source_only]

    def labels(codes):
        return ", ".join(code_label(code, lang) for code in codes)

    for r in certified:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
        c = r.classification.classification
        out.print(f"[bold]{escape(str(r.dataset))}[/]" + (f"  [dim]{escape(r.source)}[/]" if r.source else ""))
        depth = f" ({t[r.classification.derivation_depth]})" if r.classification.derivation_depth else ""
        types = ", ".join(class_label(name, lang) for name in r.classification.types)
        out.print(f"  {t['verdict']}: [{STYLE[r.verdict]}]{t[r.verdict]}[/]   {t['derived']}: {t['yes'] if r.is_derived else t['no']}{depth}"
                  + (f"   {t['types']}: {escape(types)}" if types else ""))
        parts = [(t["scenario"], c.scenario), (t["technique"], c.technique), (t["granularity"], [c.granularity] if c.granularity else []),
                 (t["modality"], c.modality), (t["category"], c.category), (t["special"], c.special),
                 (t["grade"], [c.deidentification_grade] if c.deidentification_grade else [])]
        items = [f"{k} {labels(v)}" for k, v in parts if v]
        if c.sensitivity_level:
            cand = f" ({t['candidates']} {labels(c.level_candidates)})" if c.level_candidates else ""
            items.append(t["level_is"].format(level=code_label(c.sensitivity_level, lang)) + cand)
        if r.is_derived:
            items.append(f"{t['personal']}: {t['yes'] if c.personal_information else t['no']}")
        line = " · ".join(items)
        if line:
            out.print(f"  {escape(line)}")
        if r.findings:
            out.print(f"  {t['findings']}:")
            for f in r.findings:
                mark = "[red]✗[/]" if f.severity == "Violation" else "[yellow]![/]"
                where = f" [dim]{escape(prefixed(f.path))}[/]" if f.path else ""
                value = f" [dim]= {escape(prefixed(f.value))}[/]" if f.value else ""
                out.print(f"    {mark} [bold]{f.requirement}[/] {severity(f.severity, lang)}{where}{value}")
                out.print(f"      {escape(f.message.get(lang) or f.message.get('en', ''))}")
        if r.filing:
            out.print(f"  {t['filing']}: [bold]{r.filing.number}[/]  {t['valid_until']} {r.filing.valid_until.isoformat()}  sha256 {r.filing.digest[:16]}…")
        out.print()
    if source_only:
        out.print(f"[dim]{t['sources']}: {escape(', '.join(str(r.dataset) for r in source_only))}[/]")
    n = len(certified)
    summary = t["summary_one" if n == 1 else "summary"].format(n=n, counts=", ".join(f"{t[v]} {k}" for v, k in counts.items()))
    if source_only:
        summary += t["summary_sources_one" if len(source_only) == 1 else "summary_sources"].format(n=len(source_only))
    out.print(summary)


def _source_iris(run, engine, files) -> set[str]:
    from .wording import named_sources

    return named_sources(run.description if run.description is not None else engine.load_files(files)[0])


@command
def classify(
    paths: list[Path] = PathsArg,
    reasoner: Reasoner = ReasonerOpt,
    explain: bool = typer.Option(False, "--explain", help="Add the justification of each inferred fact."),
    lang: Lang = LangOpt,
) -> int:
    """Classify datasets by reasoning only (no validation); prints JSON."""
    engine = _engine(reasoner, None)
    graph, origin = engine.load_files(paths)
    items = engine.classify_graph(graph, origin, explain_lang=lang.value if explain else None)
    out.print_json(json.dumps(items, ensure_ascii=False))
    return 0


@command
def validate(
    paths: list[Path] = PathsArg,
    format: ReportFormat = typer.Option(ReportFormat.turtle, "--format", "-f", help="turtle (the SHACL report) or json (findings)."),
    reasoner: Reasoner = ReasonerOpt,
    on: Optional[str] = OnOpt,
    thresholds: Optional[Path] = ThresholdsOpt,
) -> int:
    """Validate against the shapes (after reasoning) and print the SHACL report; exit 1 on a Violation."""
    from .certify import finding_dict
    from .shacl import validate as run_validation

    engine = _engine(reasoner, thresholds)
    graph, _ = engine.load_files(paths)
    validation = run_validation(engine.materialise(graph), on=_day(on), thresholds=engine.thresholds)
    if format is ReportFormat.json:
        out.print_json(json.dumps([finding_dict(f) for f in validation.findings], ensure_ascii=False))
    else:
        sys.stdout.write(validation.report.serialize(format="turtle"))
    return 1 if any(f.severity == "Violation" for f in validation.findings) else 0


@command
def explain(
    path: Path = typer.Argument(..., help="A description file."),
    dataset: str = typer.Option(..., "--dataset", help="IRI of the dataset to explain."),
    lang: Lang = LangOpt,
    reasoner: Reasoner = ReasonerOpt,
    format: ReportFormat = typer.Option(None, "--format", "-f", help="json for machine-readable output; default text."),
) -> int:
    """Explain which asserted facts made each inferred type, scenario, grade and level hold."""
    engine = _engine(reasoner, None)
    graph, _ = engine.load_files([path])
    cls, reasons = engine.explain(graph, dataset, lang.value)
    if format is ReportFormat.json:
        out.print_json(json.dumps({"dataset": dataset, "classification": cls.classification.to_dict(), "types": cls.types,
                                   "explanation": [r.to_dict() for r in reasons]}, ensure_ascii=False))
        return 0
    t = UI[lang.value]
    c = cls.classification
    out.print(f"[bold]{escape(dataset)}[/]")
    if c.sensitivity_level:
        out.print(f"  {t['level']} {c.sensitivity_level} = max({', '.join(c.level_candidates) or '—'}) (就高从严)")
    for r in reasons:
        for i, line in enumerate(r.lines()):
            out.print(("  • " if i == 0 else "    ") + escape(line))
    return 0


@command
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port."),
    store: Optional[Path] = typer.Option(None, help="Folder of the embedded Oxigraph store (default from settings)."),
    config: Optional[Path] = typer.Option(None, help="Settings file (institutions, tokens, peers, limits)."),
    seed: Optional[Path] = typer.Option(None, help="Seed an empty store from this examples folder."),
) -> int:
    """Run the API (FastAPI) over the catalog store."""
    from api.app import serve as run_server

    run_server(host=host, port=port, store_path=store, config_path=config, seed_dir=seed)
    return 0


def main() -> None:
    app()


if __name__ == "__main__":
    main()
