"""The `derivecert` command for metadata authors and certifying bodies.

Exit codes: 0 no dataset rejected, 1 some dataset rejected, 2 unusable input (any error
DeriveCert can explain: syntax, format, size, a limit passed, missing file, bad option),
3 internal error.

The work on the descriptions runs in a bounded worker process (derivecert.sandbox) with the
limits of the settings (`limits.*`, from `DERIVECERT_LIMITS__*` or `DERIVECERT_CONFIG_FILE`), as
in the API, except the wall-clock limit: a batch of thousands of files may legitimately run long.

Over 400 lines because each command's report (certify, explain, verify, filing, load) is written
here, in both languages, with the exit codes above.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from enum import Enum
from pathlib import Path
from collections.abc import Set as AbstractSet
from typing import Optional

import functools

import typer
from rich.console import Console
from rich.markup import escape

from .errors import ConfigurationError, DeriveCertError, InputError

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
           "candidates": "候选", "level_is": "敏感等级 {level}", "special": "特殊类别", "modality": "形态", "category": "类别", "notices": "提示"},
    "en": {"verdict": "verdict", "derived": "derived", "yes": "yes", "no": "no", "types": "types", "findings": "findings",
           "filing": "filing", "valid_until": "valid until", "none": "none", "classification": "classification", "because": "because",
           "personal": "personal information", "primary": "primary", "secondary": "secondary", "summary": "{n} datasets: {counts}",
           "summary_one": "1 dataset: {counts}", "summary_sources": " (and {n} source datasets not under certification)",
           "summary_sources_one": " (and 1 source dataset not under certification)",
           "sources": "sources (not under certification themselves)",
           "certified": "certified", "conditional": "conditional", "rejected": "rejected", "not-derived": "not derived",
           "scenario": "scenario", "technique": "technique", "granularity": "granularity", "grade": "grade", "level": "level",
           "candidates": "candidates", "level_is": "{level}", "special": "special", "modality": "modality", "category": "category", "notices": "notices"},
}
STYLE = {"certified": "bold green", "conditional": "bold yellow", "rejected": "bold red", "not-derived": "bold blue"}


class Lang(str, Enum):
    zh = "zh"
    en = "en"


class Reasoner(str, Enum):
    rl = "rl"
    hermit = "hermit"


class ShaclValidator(str, Enum):
    rudof = "rudof"
    pyshacl = "pyshacl"


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
ShaclOpt = typer.Option(None, "--shacl", help="SHACL validator: rudof (fast, the default) or pyshacl (the reference "
                        "engine; same findings). Default: the settings' `shacl`.")


def command(fn=None, *, group: typer.Typer | None = None):
    """Register a command (on `app`, or on a `group` of subcommands) whose return value is the exit
    code, and whose errors never show a traceback: DeriveCert's own errors exit 2 with what /
    where / hint, anything else exits 3."""
    if fn is None:
        return functools.partial(command, group=group)

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

    return (group or app).command()(wrapper)


def _limits():
    return _settings().limits


def _settings():
    from pydantic import ValidationError

    from .settings import Settings

    try:
        return Settings()
    except (ValidationError, ValueError) as exc:
        raise ConfigurationError(f"the settings are not usable: {exc}",
                                 hint="check DERIVECERT_LIMITS__* and the file named by DERIVECERT_CONFIG_FILE") from None


def _engine(reasoner: Reasoner, thresholds: Optional[Path], shacl: Optional[ShaclValidator] = None):
    from .engine import Engine
    from .shacl import load_threshold_profile

    settings = _settings()
    return Engine(reasoner=reasoner.value, thresholds=load_threshold_profile(thresholds) if thresholds else None,
                  limits=settings.limits.input_limits(), shacl=shacl.value if shacl else settings.shacl)


def _bounded(fn, *args, **kwargs):
    """`fn(*args, **kwargs)` in a bounded worker (memory and the digest's budget of the settings)."""
    from . import sandbox

    if not sandbox.available():
        return fn(*args, **kwargs)
    return sandbox.run_bounded(fn, *args, bounds=_limits().certify_bounds(batch=True), **kwargs)


def _certify_files(engine, files, **kwargs):
    run = engine.certify_files(files, **kwargs)
    run.description = run.materialised = run.report = None  # not printed: not copied back
    return run


def _classify_files(engine, paths, explain_lang):
    graph, origin = engine.load_files(paths)
    return engine.classify_graph(graph, origin, explain_lang=explain_lang)


def _validate_files(engine, paths, on):
    from .certify import finding_dict
    from .shacl import validate as run_validation

    graph, _ = engine.load_files(paths)
    validation = run_validation(engine.materialise(graph), on=on, thresholds=engine.thresholds, shacl=engine.shacl)
    return [finding_dict(f) for f in validation.findings], validation.report.serialize(format="turtle")


def _explain_file(engine, path, dataset, lang, on):
    graph, _ = engine.load_files([path])
    return engine.explain(graph, dataset, lang, on=on)


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
    shacl: Optional[ShaclValidator] = ShaclOpt,
    workers: int = typer.Option(os.cpu_count() or 1, "--workers", min=1, help="Processes for large batches (default: all cores)."),
) -> int:
    """Certify every dcat:Dataset described in PATHS: classification, findings, verdict, filing."""
    from .engine import collect_files

    engine = _engine(reasoner, thresholds, shacl)
    engine.workers = workers
    files = collect_files(paths)
    if not files:
        raise InputError("no description files found", where=" ".join(map(str, paths)), hint="give .ttl/.trig/.nt/.nq/.rdf/.jsonld files or folders holding them")
    bar, tick = _progress(len(files))
    try:
        run = _bounded(_certify_files, engine, files, progress=tick, on=_day(on))
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


def _print_results(results, lang: str, sources: AbstractSet[str] = frozenset()) -> None:
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
        if r.notices:
            out.print(f"  {t['notices']}:")
            for n in r.notices:
                out.print(f"    [cyan]i[/] {escape(n['message'].get(lang) or n['message'].get('en', ''))}")
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
    items = _bounded(_classify_files, _engine(reasoner, None), paths, lang.value if explain else None)
    out.print_json(json.dumps(items, ensure_ascii=False))
    return 0


@command
def validate(
    paths: list[Path] = PathsArg,
    format: ReportFormat = typer.Option(ReportFormat.turtle, "--format", "-f", help="turtle (the SHACL report) or json (findings)."),
    reasoner: Reasoner = ReasonerOpt,
    on: Optional[str] = OnOpt,
    thresholds: Optional[Path] = ThresholdsOpt,
    shacl: Optional[ShaclValidator] = ShaclOpt,
) -> int:
    """Validate against the shapes (after reasoning) and print the SHACL report; exit 1 on a Violation."""
    findings, report = _bounded(_validate_files, _engine(reasoner, thresholds, shacl), paths, _day(on))
    if format is ReportFormat.json:
        out.print_json(json.dumps(findings, ensure_ascii=False))
    else:
        sys.stdout.write(report)
    return 1 if any(f["severity"] == "Violation" for f in findings) else 0


class ExportProfile(str, Enum):
    dcat_ap = "dcat-ap"
    healthdcat_ap = "healthdcat-ap"


class ExportFormat(str, Enum):
    turtle = "turtle"
    jsonld = "json-ld"
    rdfxml = "xml"
    ntriples = "nt"


@command
def export(
    paths: list[Path] = PathsArg,
    profile: ExportProfile = typer.Option(ExportProfile.dcat_ap, "--profile", help="dcat-ap (DCAT-AP 3.0.0) or healthdcat-ap."),
    format: ExportFormat = typer.Option(ExportFormat.turtle, "--format", "-f", help="turtle, json-ld, xml (RDF/XML) or nt."),
    reasoner: Reasoner = ReasonerOpt,
    on: Optional[str] = OnOpt,
    thresholds: Optional[Path] = ThresholdsOpt,
    shacl: Optional[ShaclValidator] = ShaclOpt,
) -> int:
    """Certify PATHS and print them as a registry reads them (DCAT-AP or HealthDCAT-AP): each
    certified dataset with its filing record as a dqv:QualityCertificate; exit 1 if any is rejected
    (a rejected dataset is exported without a certificate)."""
    from .dcat_export import export_files

    body, rejected = _bounded(export_files, _engine(reasoner, thresholds, shacl), paths, profile.value, format.value, _day(on))
    sys.stdout.write(body)
    for dataset in rejected:
        err.print(f"rejected, exported without a certificate: {escape(dataset)}")
    return 1 if rejected else 0


class TemplateFormat(str, Enum):
    turtle = "turtle"
    jsonld = "json-ld"


@command
def template(
    path: Path = typer.Argument(..., help="A DCAT-AP or HealthDCAT-AP record (any RDF format)."),
    format: TemplateFormat = typer.Option(TemplateFormat.turtle, "--format", "-f", help="turtle (TODO comments) or json-ld (a \"_todo\" list per dataset)."),
    lang: Lang = LangOpt,
    on: Optional[str] = OnOpt,
) -> int:
    """Start a DeriveCert description from a registry record: every fact of the record, and for
    each dataset the properties still needed with the requirement that needs them."""
    from .template import make_template

    if not path.is_file():
        raise InputError("no such file", where=str(path), hint="give the path of a record file")
    sys.stdout.write(_bounded(make_template, _engine(Reasoner.rl, None), path.read_bytes(), filename=path.name,
                              fmt=format.value, lang=lang.value, on=_day(on)))
    return 0


@command
def explain(
    path: Path = typer.Argument(..., help="A description file."),
    dataset: str = typer.Option(..., "--dataset", help="IRI of the dataset to explain."),
    lang: Lang = LangOpt,
    reasoner: Reasoner = ReasonerOpt,
    on: Optional[str] = OnOpt,
    thresholds: Optional[Path] = ThresholdsOpt,
    shacl: Optional[ShaclValidator] = ShaclOpt,
    format: ReportFormat = typer.Option(None, "--format", "-f", help="json for machine-readable output; default text."),
) -> int:
    """Explain the verdict (each finding: why it applied, the facts it read or missed), the defaults
    applied, why the data is or is not derived and personal information, and why its level holds."""
    result, reasons = _bounded(_explain_file, _engine(reasoner, thresholds, shacl), path, dataset, lang.value, _day(on))
    if format is ReportFormat.json:
        out.print_json(json.dumps({"dataset": dataset, "verdict": result.verdict, "types": result.classification.types,
                                   "classification": result.classification.classification.to_dict(),
                                   "explanation": [r.to_dict() for r in reasons]}, ensure_ascii=False))
        return 0
    out.print(f"[bold]{escape(dataset)}[/]")
    for r in reasons:
        for i, line in enumerate(r.lines()):
            out.print(("  • " if i == 0 else "    ") + escape(line))
    return 0


# ---- filings: verify anywhere; change the status in a local store ---------------------------

VERIFY_UI = {
    "en": {"filing": "filing", "dataset": "dataset", "description": "description", "signature": "signature",
           "status": "status", "certified": "certified", "verified": "verified", "not_verified": "NOT verified",
           "matches": "matches the filed sha256", "differs": "differs from the filed sha256 {filed}: the description changed after certification",
           "absent": "does not describe the filed dataset", "until": "valid until", "scenarios": "scenarios",
           "level": "level", "grade": "grade", "conditions": "conditions", "key": "key", "no_key": "not checked: no public key (--key)",
           "record_status": "the status is as the record file states it: the signature covers what was certified, not the "
                            "status; the certifying body's GET /v1/filings/{number} gives the current one"},
    "zh": {"filing": "备案", "dataset": "数据集", "description": "描述", "signature": "签名", "status": "状态",
           "certified": "认定内容", "verified": "核验通过", "not_verified": "核验未通过",
           "matches": "与备案的 sha256 一致", "differs": "与备案的 sha256 {filed} 不一致：描述在认定后被修改",
           "absent": "未描述备案的数据集", "until": "有效期至", "scenarios": "场景", "level": "敏感等级", "grade": "脱敏等级",
           "conditions": "条件", "key": "密钥", "no_key": "未核验：未提供公钥（--key）",
           "record_status": "状态取自备案记录文件：签名只覆盖认定内容，不覆盖状态；当前状态以认定机构的 GET /v1/filings/{number} 为准"},
}
STATUS_UI = {"zh": {"valid": "有效", "expired": "已过期", "superseded": "已被取代", "suspended": "已暂停", "revoked": "已撤销"},
             "en": {s: s for s in ("valid", "expired", "superseded", "suspended", "revoked")}}
StoreOpt = typer.Option(None, "--store", help="Folder of the local embedded store (default from the settings).")
ConfigOpt = typer.Option(None, "--config", help="Settings file of the local node (store, filing key, limits).")


def _local_settings(config: Optional[Path], store: Optional[Path]):
    from .settings import Settings

    try:
        settings = Settings(config_file=config) if config else Settings()
    except ValueError as exc:
        raise InputError(f"unusable settings: {exc}", where=str(config or "environment"), hint="check the settings file") from None
    if store is not None:
        settings.store.kind, settings.store.path = "embedded", store
    return settings


def _local_store(settings):
    """The node's embedded store, opened here (the server must not be running on it)."""
    from .catalog import Catalog, EmbeddedStore

    if settings.store.kind != "embedded":
        raise InputError(f"the settings name a {settings.store.kind} store, not a local one",
                         hint="give --store FOLDER, or use the node's API (GET /v1/filings/NUMBER, POST /v1/filings/NUMBER/status)")
    if not settings.store.path.is_dir():
        raise InputError("no store here", where=str(settings.store.path), hint="give the store folder with --store")
    try:
        return Catalog(EmbeddedStore(settings.store.path, query_processes=0))
    except OSError as exc:
        raise InputError(f"cannot open the store: {exc}", where=str(settings.store.path),
                         hint="stop the server using it, or use its API with the certifier token") from None


def _ledger_graph(store, number: str):
    import pyoxigraph as ox
    from rdflib import Graph

    from .catalog import IDX

    triples = [t for t in store.filing_record(number) if not t.predicate.value.startswith(IDX)]
    if not triples:
        raise InputError(f"no filing {number} in the store", hint="check the number (e.g. DC-20260105-0A7C332A5D)")
    return Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")


@command
def verify(
    path: Path = typer.Argument(..., help="The description file that was certified."),
    filing: Optional[str] = typer.Option(None, "--filing", help="Filing number; read from the local store unless --record is given."),
    record: Optional[Path] = typer.Option(None, "--record", help="A filing record file, e.g. GET /v1/filings/NUMBER as Turtle."),
    key: Optional[Path] = typer.Option(None, "--key", help="The certifying body's public key (PEM or JWK from /.well-known/derivecert/filing-key); "
                                                         "default with a local store: its node's key."),
    store: Optional[Path] = StoreOpt,
    config: Optional[Path] = ConfigOpt,
    on: Optional[str] = typer.Option(None, "--on", help="Judge the status on this day (YYYY-MM-DD). Default: today."),
    format: ReportFormat = typer.Option(None, "--format", "-f", help="json for machine-readable output; default text."),
    lang: Lang = LangOpt,
) -> int:
    """Check offline that a description is the one a filing certified (canonical SHA-256), that the
    filing record carries the certifying body's signature, and that the filing is valid.
    Exit 0 when all three hold, 1 when one does not."""
    from rdflib import URIRef

    from .filing import FILING_BASE, canonical_digest, check_signature, description_of, filing_iris, read_filing
    from .parse import parse_file
    from .signing import FilingKey, PublicKey

    public = PublicKey.from_bytes(key.read_bytes(), where=str(key)) if key else None
    if record is not None:
        graph = parse_file(record).graph
        iris = filing_iris(graph) if filing is None else [URIRef(FILING_BASE + filing)]
        if len(iris) != 1 or (iris[0], None, None) not in graph:
            raise InputError(f"{'no filing ' + filing if filing else f'{len(iris)} filing records'} in the record file",
                             where=str(record), hint="give the record of one filing, or name it with --filing")
        iri = iris[0]
    elif filing is not None:
        settings = _local_settings(config, store)
        local = _local_store(settings)
        try:
            graph = _ledger_graph(local, filing)
        finally:
            local.close()
        iri = URIRef(FILING_BASE + filing)
        if public is None and settings.filing_key_file().exists():
            public = FilingKey.load(settings.filing_key_file(), settings.signing.passphrase_bytes()).public
    else:
        raise InputError("which filing?", hint="give --filing NUMBER (local store) or --record FILE (a filing record)")
    state = read_filing(graph, iri)
    f = state.filing
    description = parse_file(path).graph
    dataset = URIRef(f.dataset)
    described = (dataset, None, None) in description
    digest = canonical_digest(description_of(description, dataset)) if described else None
    signed, why = check_signature(graph, iri, public) if public else (False, None)
    status = state.status(_day(on))
    ok = digest == f.digest and signed and status == "valid"
    report = {"filing": f.number, "dataset": f.dataset, "verified": ok,
              "description": {"sha256": digest, "filed_sha256": f.digest, "matches": digest == f.digest},
              "signature": {"valid": signed, "key_id": f.signature.key_id if f.signature else None, "problem": why or None,
                            "checked": public is not None},
              "status": status, "status_source": "record file" if record is not None else "local store",
              "status_reason": state.reason, "status_changed": state.changed,
              "superseded_by": state.replaced_by, "valid_until": f.valid_until.isoformat(),
              "certified": {"verdict": f.verdict, "scenarios": list(f.scenarios), "level": f.level, "grade": f.grade,
                            "conditions": [c["requirement"] for c in f.conditions]}}
    if format is ReportFormat.json:
        out.print_json(json.dumps(report, ensure_ascii=False))
        return 0 if ok else 1
    t, yes, no = VERIFY_UI[lang.value], "[green]✓[/]", "[red]✗[/]"
    out.print(f"[bold]{t['filing']} {escape(f.number)}[/]  {t['dataset']} {escape(f.dataset)}")
    if not described:
        line = t["absent"]
    else:
        line = f"sha256 {str(digest)[:16]}… " + (t["matches"] if digest == f.digest else t["differs"].format(filed=f.digest[:16] + "…"))
    out.print(f"  {yes if digest == f.digest else no} {t['description']}: {escape(line)}")
    if public is None:
        sig = t["no_key"]
    else:
        sig = f"Ed25519, {t['key']} {public.key_id}" if signed else str(why)
    out.print(f"  {yes if signed else no} {t['signature']}: {escape(sig)}")
    detail = f"{t['until']} {f.valid_until.isoformat()}"
    if state.reason:
        detail += f"; {state.changed or ''} {state.reason}"
    if state.replaced_by:
        detail += f"; → {state.replaced_by}"
    out.print(f"  {yes if status == 'valid' else no} {t['status']}: {STATUS_UI[lang.value][status]} ({escape(detail)})")
    if record is not None:
        out.print(f"    [dim]{escape(t['record_status'].format(number=f.number))}[/]")
    items = [f"{t['scenarios']} {', '.join(f.scenarios)}", f"{t['level']} {f.level}", f"{t['grade']} {f.grade}"]
    if f.conditions:
        items.append(f"{t['conditions']} {', '.join(c['requirement'] for c in f.conditions)}")
    out.print(f"  {t['certified']}: {escape(' · '.join(items))}")
    out.print(f"[bold green]{t['verified']}[/]" if ok else f"[bold red]{t['not_verified']}[/]")
    return 0 if ok else 1


filing_group = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                           help="The certifying body's status changes on a local store (the server stopped): suspend, reinstate, revoke.")
app.add_typer(filing_group, name="filing")
ReasonOpt = typer.Option(..., "--reason", help="Why, for the record (kept with the date of the change).")


def _change_status(number: str, action: str, reason: str, store: Optional[Path], config: Optional[Path]) -> int:
    from datetime import UTC, datetime

    from .filing import ACTIONS

    settings = _local_settings(config, store)
    reason, limit = reason.strip(), settings.limits.status_reason_max_chars
    if not reason:
        raise InputError("a status change needs a reason", hint="say why with --reason")
    if len(reason) > limit:
        raise InputError(f"the reason has {len(reason)} characters, over the limit of {limit} (limits.status_reason_max_chars)",
                         hint="shorten the reason; refer to a document for details")
    status, allowed = ACTIONS[action]
    local = _local_store(settings)
    try:
        when = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        before = local.set_filing_status(number, status, allowed=allowed, reason=reason, when=when)
    finally:
        local.close()
    if before is None:
        raise InputError(f"no filing {number} in the store", hint="check the number (e.g. DC-20260105-0A7C332A5D)")
    if before not in allowed:
        raise InputError(f"filing {number} is {before}: it cannot be {status}",
                         hint=f"{action} applies to a filing that is {' or '.join(sorted(allowed))}")
    out.print(f"{escape(number)}: {before} → [bold]{status}[/] ({escape(reason)})")
    return 0


@command(group=filing_group)
def suspend(number: str = typer.Argument(..., help="Filing number."), reason: str = ReasonOpt,
            store: Optional[Path] = StoreOpt, config: Optional[Path] = ConfigOpt) -> int:
    """Suspend a valid filing."""
    return _change_status(number, "suspend", reason, store, config)


@command(group=filing_group)
def reinstate(number: str = typer.Argument(..., help="Filing number."), reason: str = ReasonOpt,
              store: Optional[Path] = StoreOpt, config: Optional[Path] = ConfigOpt) -> int:
    """Reinstate a suspended filing."""
    return _change_status(number, "reinstate", reason, store, config)


@command(group=filing_group)
def revoke(number: str = typer.Argument(..., help="Filing number."), reason: str = ReasonOpt,
           store: Optional[Path] = StoreOpt, config: Optional[Path] = ConfigOpt) -> int:
    """Revoke a filing (final)."""
    return _change_status(number, "revoke", reason, store, config)


LOAD_UI = {
    "zh": {"filed": "已备案", "refused": "被拒", "failed": "失败",
           "summary": "{filed} 个文件已备案（{datasets} 个数据集），{refused} 个被拒，{failed} 个失败", "hint": "提示"},
    "en": {"filed": "filed", "refused": "refused", "failed": "failed",
           "summary": "{filed} files filed ({datasets} datasets), {refused} refused, {failed} failed", "hint": "hint"},
}


def _read_documents(files: list[Path], max_bytes: int):
    """(name, content) of each file, read only when its batch is due; a file that cannot be read,
    or is over the size limit, is (name, the error), reported in its place."""
    from .parse import parse_file

    for path in files:
        try:
            if path.stat().st_size > max_bytes:
                parse_file(path, max_bytes=max_bytes)  # raises the size error with its hint
            yield str(path), path.read_bytes()
        except DeriveCertError as exc:
            yield str(path), exc
        except OSError as exc:
            yield str(path), InputError(f"cannot read file: {exc.strerror}", where=str(path), hint="check the path")


def _load_store(settings):
    """The store `serve` would use, opened for writing (an embedded store: without query workers)."""
    from .catalog import EmbeddedStore, open_catalog, open_store

    if settings.store.kind != "embedded":
        return open_catalog(open_store(settings))
    try:
        return open_catalog(EmbeddedStore(settings.store.path, query_processes=0))
    except OSError as exc:
        raise InputError(f"cannot open the store: {exc}", where=str(settings.store.path),
                         hint="stop the server using it (an embedded store has one writer), or POST the batch to its API") from None


@command
def load(
    paths: list[Path] = PathsArg,
    institution: str = typer.Option(..., "--institution", "-i", help="The institution filing the descriptions (its id)."),
    store: Optional[Path] = StoreOpt,
    config: Optional[Path] = ConfigOpt,
    batch_size: int = typer.Option(200, "--batch-size", min=1, help="Files certified together (memory grows with it)."),
    workers: int = typer.Option(os.cpu_count() or 1, "--workers", min=1,
                                help="Batches certified at once, each in its own worker (default: all cores)."),
    lang: Lang = LangOpt,
) -> int:
    """Certify and file many descriptions into the node's catalog, each file as one submission.

    Files are certified in batches (one engine call each, in bounded workers) and each file is
    filed on its own, as `PUT /v1/institutions/{institution}/datasets` would: a refused or
    unreadable file is reported and the others are filed.  Filing again replaces (re-loading
    is idempotent).  The store is the one `serve` uses (settings, or --store FOLDER); an
    embedded store must not be in use by a running server.

    Exit codes: 0 every file filed; 1 some file refused or failed (listed with the reason);
    2 unusable input (no files, bad institution or settings); 3 internal error.
    """
    from .catalog import is_institution_id
    from .engine import collect_files

    settings = _local_settings(config, store)
    if not is_institution_id(institution):
        raise InputError(f"--institution {institution!r} is not an institution id",
                         hint="an institution id is a lower-case slug: a-z, 0-9 and '-'")
    known = [i.id for i in settings.institutions]
    if known and institution not in known:
        raise InputError(f"no institution {institution!r} in the settings",
                         hint=f"the institutions of this node are {', '.join(known)}")
    files = collect_files(paths)
    if not files:
        raise InputError("no description files found", where=" ".join(map(str, paths)),
                         hint="give .ttl/.trig/.nt/.nq/.rdf/.jsonld files or folders holding them")
    catalog = _load_store(settings)  # first: a store in use is refused before the engine loads
    try:
        return _load_files(catalog, settings, institution, files, batch_size, workers, LOAD_UI[lang.value])
    finally:
        catalog.close()


def _load_files(catalog, settings, institution: str, files: list[Path], batch_size: int, workers: int, ui: dict) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from . import sandbox
    from .catalog.bulk import certify_batch, load_batches
    from .engine import Engine
    from .signing import FilingKey

    engine = Engine(reasoner=settings.reasoner, thresholds=settings.thresholds,
                    certifying_body=settings.certifying_body, limits=settings.limits.input_limits())
    engine.warm()  # the bounded workers are forked from this process: they start warm (and frozen)
    key, _ = FilingKey.load_or_create(settings.filing_key_file(), settings.signing.passphrase_bytes())
    taken: set[str] = set()
    bounds = settings.limits.certify_bounds(batch=True)

    def certify(documents):
        kwargs = {"filing_numbers": lambda: catalog.new_filing_number(settings.filing_prefix, taken=taken),
                  "certifying_body": settings.certifying_body}
        if not sandbox.available():
            return certify_batch(engine, documents, **kwargs)
        return sandbox.run_bounded(certify_batch, engine, documents, bounds=bounds, **kwargs)

    counts = {"filed": 0, "refused": 0, "failed": 0, "datasets": 0}
    problems = []
    bar = Progress(TextColumn(f"{escape(institution)}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=err, transient=True, disable=not err.is_terminal)
    with bar:
        task = bar.add_task("load", total=len(files))
        for outcomes in load_batches(catalog, institution, _read_documents(files, engine.max_bytes), certify,
                                     batch_size=batch_size, signing_key=key,
                                     workers=workers if sandbox.available() else 0):
            for o in outcomes:
                counts[o.status] += 1
                counts["datasets"] += len(o.datasets)
                if o.status != "filed":
                    problems.append(o)
            bar.advance(task, len(outcomes))
    for o in problems:
        message = o.message or ""  # names the file (and the position) when the error says where
        where = "" if message.startswith(o.name) else f"{o.name}: "
        err.print(f"[bold red]{ui[o.status]}[/] {escape(where + message)} [dim]({escape(o.code or '')})[/]")
        if o.hint:
            err.print(f"  [dim]{ui['hint']}:[/] {escape(o.hint)}")
    out.print(ui["summary"].format(**counts))
    return 1 if problems else 0


@command
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port."),
    store: Optional[Path] = typer.Option(None, help="Folder of the embedded Oxigraph store (default from settings)."),
    config: Optional[Path] = typer.Option(None, help="Settings file (institutions, tokens, peers, limits)."),
    seed: Optional[Path] = typer.Option(None, help="Seed an empty store from this examples folder."),
) -> int:
    """Run the API (FastAPI) over the catalog store."""
    from importlib.metadata import EntryPoint, entry_points

    # The service registers itself under this group (pyproject.toml), so the CLI, part of the
    # library, never imports the API; a checkout whose install predates the group (its metadata
    # not regenerated) gets the packaged service by the same reference.
    found = entry_points(group="derivecert.serve", name="api")
    entry = next(iter(found), None) or EntryPoint("api", "derivecert.api.app:serve", "derivecert.serve")
    run_server = entry.load()
    run_server(host=host, port=port, store_path=store, config_path=config, seed_dir=seed)
    return 0


def main() -> None:
    app()


if __name__ == "__main__":
    main()
