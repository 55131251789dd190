"""The lineage service: JSON API, web explorer, OpenAPI docs and monthly reports on one ASGI app.

    from analysis.service import Snapshots, create_app
    app = create_app(Snapshots("sqlite:///qwen.db"))        # then run it with uvicorn (``hubtree serve``)

Read-only: the store is opened read-only, the graph is held in memory (:mod:`analysis.service.snapshot`). Every
answer is bounded (page size, tree depth and width, search results) and every request has a time limit. Pages are
static HTML shells whose script fills them from the API with text nodes only, under a strict
Content-Security-Policy (no inline script, nothing from another origin).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from analysis.lineage_json import check_hub, dumps, relations_filter
from analysis.lineage_queries import UnknownModelError, find, parents_of
from analysis.service import details
from analysis.service.lineage import (
    MAX_PAGE,
    MAX_TREE_CHILDREN,
    MAX_TREE_DEPTH,
    BadParameter,
    children_nodes,
    family_of,
    known,
    listing_page,
    node_summary,
    path_between,
    search,
    tree_of,
)
from analysis.service.snapshot import Snapshot, Snapshots

log = logging.getLogger("hubtree.serve")

MAX_ID_LENGTH = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MONTH = re.compile(r"(\d{4}-\d{2})")
REPORTS_LINKED = 12
FAMILIES_RETRY_S = 5

#: Pages and API: nothing but this origin; no inline script or style.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: The monthly reports are our own static HTML with an inline stylesheet and no script at all.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"


class JSONAnswer(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else dumps(content)


@dataclass
class Settings:
    """Service limits and where the monthly reports are (None: no reports linked)."""

    reports_dir: Path | None = None
    request_timeout_s: float = 30.0


# --------------------------------------------------------------------------------------------- middleware


def answer_key(scope: MutableMapping[str, Any]) -> tuple[str, bytes]:
    """What an answer is kept under in its snapshot's cache: the request's path and raw query."""
    return scope["path"], scope["query_string"]


class Guard:
    """Pure ASGI middleware: security headers on every answer and a time limit on every request (503 after it).

    With ``snapshots``, a GET whose answer the current snapshot already keeps (:func:`answer`) is sent from the
    cache here, without routing or parameter parsing (the same path and query passed them when the answer was
    computed): under many clients that framework work was most of the server's CPU per request.
    """

    def __init__(self, app: Any, timeout_s: float, snapshots: Snapshots | None = None):
        self.app = app
        self.timeout_s = timeout_s
        self.snapshots = snapshots

    async def __call__(self, scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = (REPORT_CSP if scope["path"].startswith("/reports/") else CSP).encode()
        started = False

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), (b"content-security-policy", csp),
                                      (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                                      (b"x-frame-options", b"DENY")]
            await send(message)

        if self.snapshots is not None and scope.get("method") == "GET":
            body = self.snapshots.current.answers.peek(answer_key(scope))
            if body is not None:
                await send_with_headers({"type": "http.response.start", "status": 200,
                                         "headers": [(b"content-length", str(len(body)).encode()),
                                                     (b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": body})
                return
        try:
            await asyncio.wait_for(self.app(scope, receive, send_with_headers), self.timeout_s)
        except TimeoutError:
            if started:
                raise
            body = dumps({"detail": f"request took longer than {self.timeout_s:g} s; try a narrower query"})
            await send_with_headers({"type": "http.response.start", "status": 503,
                                     "headers": [(b"content-type", b"application/json"),
                                                 (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})


# --------------------------------------------------------------------------------------------- parameters


def model_id_ok(model_id: str) -> str:
    """A model id as it may appear in a path: 1–300 characters, no control characters (anything else is shown
    as text, never interpreted)."""
    if not model_id or len(model_id) > MAX_ID_LENGTH or _CONTROL.search(model_id):
        raise BadParameter(f"a model id has 1 to {MAX_ID_LENGTH} characters and no control characters")
    return model_id


def _param(check: Callable[[Any], Any], value: Any) -> Any:
    try:
        return check(value)
    except ValueError as exc:
        raise BadParameter(str(exc)) from None


Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Rows per page (at most {MAX_PAGE}).")]
Cursor = Annotated[str | None, Query(max_length=2000, description="The `next` value of the previous page.")]
Depth = Annotated[int | None, Query(ge=1, le=1000, description="Stop after this many levels.")]
Hub = Annotated[str | None, Query(description="List only models present on this hub (hf or modelscope).")]
Inferred = Annotated[bool, Query(description="Also follow inferred edges (needs `hubtree serve --include-inferred`).")]

_MODEL_404 = {404: {"description": "Unknown model; `suggestions` lists close matches."},
              422: {"description": "A parameter is out of range or malformed."}}


# --------------------------------------------------------------------------------------------- reports


def report_dirs(root: Path | None) -> list[dict[str, str]]:
    """Monthly report directories under ``root`` (each with an ``index.html``), newest month first."""
    if root is None or not root.is_dir():
        return []
    found = []
    for d in root.iterdir():
        month = _MONTH.search(d.name)
        if d.is_dir() and month and (d / "index.html").is_file():
            found.append({"month": month.group(1), "name": d.name, "url": f"/reports/{d.name}/index.html"})
    return sorted(found, key=lambda r: (r["month"], r["name"]), reverse=True)[:REPORTS_LINKED]


# --------------------------------------------------------------------------------------------- the app


async def answer(snap: Snapshot, request: Request, compute: Callable[[], Any]) -> Response:
    """The encoded answer to this request from the snapshot's cache of answers, else ``compute()`` run in a worker
    thread, encoded and kept (a snapshot never changes, so neither do its answers; errors are not kept)."""
    key = answer_key(request.scope)
    body = snap.answers.peek(key)
    if body is None:
        body = await run_in_threadpool(snap.answers.get, key, lambda: dumps(compute()))
    return JSONAnswer(body)


def create_app(snapshots: Snapshots, settings: Settings | None = None) -> FastAPI:
    """The ASGI app over ``snapshots`` (start their watcher with the app's lifespan)."""
    settings = settings or Settings()
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        snapshots.start()
        yield
        snapshots.stop()

    app = FastAPI(title="hubtree lineage service", version="1",
                  description="Read-only lineage of the models in a hubtree store: descendants, ancestors, paths, "
                              "trees, families, search and crawl runs. Ids appear in paths as on the Hub "
                              "(`/api/models/Qwen/Qwen2-7B/descendants`).",
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    templates = Environment(loader=PackageLoader("analysis.service", "templates"),
                            autoescape=select_autoescape(default=True, default_for_string=True))
    static = resources.files("analysis.service") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.mount("/vendor/swagger-ui", StaticFiles(packages=[("fastapi_offline", "static")]), name="swagger-ui")
    if settings.reports_dir is not None and settings.reports_dir.is_dir():
        app.mount("/reports", StaticFiles(directory=str(settings.reports_dir.resolve()), html=True), name="reports")

    # ---- errors: one JSON line each, never a traceback

    @app.exception_handler(UnknownModelError)
    async def unknown_model(_request: Request, exc: UnknownModelError) -> Response:
        return JSONAnswer({"detail": str(exc), "suggestions": exc.suggestions}, status_code=404)

    @app.exception_handler(BadParameter)
    async def bad_parameter(_request: Request, exc: BadParameter) -> Response:
        return JSONAnswer({"detail": str(exc)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        return JSONAnswer({"detail": f"{'.'.join(map(str, first['loc'][1:]))}: {first['msg']}", "errors": errors},
                          status_code=422)

    @app.exception_handler(Exception)
    async def failed(_request: Request, exc: Exception) -> Response:
        log.error("request failed: %s: %s", exc.__class__.__name__, exc)
        return JSONAnswer({"detail": "internal error (logged on the server)"}, status_code=500)

    # ---- API (routes with a suffix come before the bare model route, whose id may contain slashes)

    @app.get("/api/models/{model_id:path}/descendants", response_class=JSONAnswer, responses=_MODEL_404,
             tags=["lineage"])
    async def descendants(request: Request, model_id: str, relation: Annotated[str | None, Query(
            description="Comma-separated relations to list (finetune,adapter,quantized,merge); all are traversed.")]
            = None, depth: Depth = None, hub: Hub = None, inferred: Inferred = False, limit: Limit = 100,
            cursor: Cursor = None) -> Response:
        """Every model derived from the model (any depth), one page at a time, ordered by depth then id."""
        snap = snapshots.current
        rels, hub = _param(relations_filter, relation), _param(check_hub, hub)
        return await answer(snap, request, lambda: listing_page(
            snap, model_id_ok(model_id), "down", relations=rels, depth=depth, hub=hub, include_inferred=inferred,
            limit=limit, cursor=cursor))

    @app.get("/api/models/{model_id:path}/ancestors", response_class=JSONAnswer, responses=_MODEL_404,
             tags=["lineage"])
    async def ancestors(request: Request, model_id: str, depth: Depth = None, hub: Hub = None, inferred: Inferred = False,
                        limit: Limit = 100, cursor: Cursor = None) -> Response:
        """Every model the model derives from, up to the roots, paged like descendants."""
        snap = snapshots.current
        hub = _param(check_hub, hub)
        return await answer(snap, request, lambda: listing_page(
            snap, model_id_ok(model_id), "up", depth=depth, hub=hub, include_inferred=inferred, limit=limit,
            cursor=cursor))

    @app.get("/api/models/{model_id:path}/tree", response_class=JSONAnswer, responses=_MODEL_404, tags=["lineage"])
    async def model_tree(request: Request, model_id: str, depth: Annotated[int, Query(ge=1, le=MAX_TREE_DEPTH)] = 2,
                         max_children: Annotated[int, Query(ge=1, le=MAX_TREE_CHILDREN)] = 15,
                         inferred: Inferred = False) -> Response:
        """A nested tree under the model with counts of direct children per relation at each node."""
        snap = snapshots.current
        return await answer(snap, request, lambda: tree_of(snap, model_id_ok(model_id), depth=depth,
                                                           max_children=max_children, include_inferred=inferred))

    @app.get("/api/models/{model_id:path}/family", response_class=JSONAnswer, responses=_MODEL_404,
             tags=["lineage"])
    async def model_family(request: Request, model_id: str, inferred: Inferred = False) -> Response:
        """The model's root base model(s), generation and depth below the nearest root."""
        snap = snapshots.current
        return await answer(snap, request, lambda: family_of(snap, model_id_ok(model_id), include_inferred=inferred))

    @app.get("/api/models/{model_id:path}/children", response_class=JSONAnswer, responses=_MODEL_404,
             tags=["explorer"])
    async def children(request: Request, model_id: str, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                       cursor: Cursor = None) -> Response:
        """Direct children, most downloaded first, with their own child counts, licence and the drift
        classification of the edge from this model (what the explorer's tree shows)."""
        snap = snapshots.current

        def page() -> dict[str, Any]:
            out, kids = children_nodes(snap, model_id_ok(model_id), limit=limit, cursor=cursor)
            g = snap.graph
            licences = details.edge_licences(snapshots.store, g, find(g, out["id"]), kids)
            for row, node in zip(out["models"], kids, strict=True):
                row.update(node_summary(snap, node), **licences[node])
            return out

        return await answer(snap, request, page)

    @app.get("/api/models/{model_id:path}", response_class=JSONAnswer, responses=_MODEL_404, tags=["lineage"])
    async def model(request: Request, model_id: str) -> Response:
        """The model: record, family, generation, depth, licence and its drift findings, deployment signals,
        hubs and mirrors, parents and direct-children counts."""
        snap = snapshots.current

        def page() -> dict[str, Any]:
            g = snap.graph
            node = find(g, known(snap, model_id_ok(model_id)))
            fam = family_of(snap, g.ids[node])
            parents = listing_page(snap, g.ids[node], "up", depth=1, limit=MAX_PAGE)["models"]
            return {"id": g.ids[node], "hub": details.primary_key(g, node)[0], "hubs": g.hubs_of(node),
                    "modelscope_id": g.ms_ids.get(node), "family": fam, "generation": fam["generation"],
                    "depth": fam["depth"], "parents": parents, "merge": len(parents_of(g, node)) > 1,
                    **node_summary(snap, node), **details.model_page(snapshots.store, g, node)}

        return await answer(snap, request, page)

    @app.get("/api/path", response_class=JSONAnswer, responses=_MODEL_404, tags=["lineage"])
    async def lineage_path(request: Request, from_: Annotated[str, Query(alias="from", max_length=MAX_ID_LENGTH)],
                           to: Annotated[str, Query(max_length=MAX_ID_LENGTH)], inferred: Inferred = False) -> Response:
        """The lineage path between two models (down, up, or through a common relative)."""
        snap = snapshots.current
        return await answer(snap, request, lambda: path_between(snap, model_id_ok(from_), model_id_ok(to),
                                                                include_inferred=inferred))

    @app.get("/api/search", response_class=JSONAnswer, tags=["lineage"])
    async def search_models(request: Request, q: Annotated[str, Query(min_length=1, max_length=MAX_ID_LENGTH)],
                            limit: Annotated[int, Query(ge=1, le=50)] = 10) -> Response:
        """Ids containing `q` in any case: exact matches first, then by downloads; close matches when none."""
        snap = snapshots.current
        return await answer(snap, request, lambda: search(snap, model_id_ok(q), limit))

    @app.get("/api/families", response_class=JSONAnswer, tags=["analyses"])
    async def families(request: Request) -> Response:
        """The families analysis (:mod:`analysis.families`): every family's roots and derivatives, and the share
        of new derivatives per month. Computed once per state of the store from the graph being served (≈ 11 s of
        CPU at 200K models): until it is ready the answer is 503 with ``Retry-After``."""
        snap = snapshots.current

        def compute() -> bytes:
            from analysis.families import analyse_families, load_view
            from analysis.inference import DEFAULT_THRESHOLD
            from crawler.families import select_families

            families = select_families()
            # the snapshot's declared graph, not a second build of it (a graph with inferred edges is not one)
            view = load_view(snapshots.store, graph=None if snap.include_inferred else snap.graph,
                             families=families, threshold=DEFAULT_THRESHOLD)
            return dumps(analyse_families(snapshots.store, families, view=view).to_json())

        job = snap.jobs.start("families", compute)
        try:
            return JSONAnswer(await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job)),
                                                     settings.request_timeout_s / 2))
        except TimeoutError:
            return JSONAnswer({"detail": "the families analysis of this store is being computed; ask again in a "
                                         "moment"}, status_code=503, headers={"Retry-After": str(FAMILIES_RETRY_S)})

    @app.get("/api/runs", response_class=JSONAnswer, tags=["store"])
    async def runs(hub: Hub = None, limit: Annotated[int, Query(ge=1, le=500)] = 20) -> Response:
        """Past crawl runs, newest first (as `hubtree runs --json`)."""
        from crawler.runs import list_runs

        hub = _param(check_hub, hub)
        return JSONAnswer({"runs": await run_in_threadpool(list_runs, snapshots.store, hub, limit)})

    @app.get("/api/status", response_class=JSONAnswer, tags=["store"])
    async def status() -> Response:
        """The graph being served: models, edges, when it was loaded, reloads since start, reports linked."""
        snap = snapshots.current
        return JSONAnswer({"models": snap.graph.n_nodes, "edges": snap.graph.n_edges, "loaded_at": snap.loaded_at,
                           "reloads": snapshots.reloads, "include_inferred": snap.include_inferred,
                           "reports": report_dirs(settings.reports_dir)})

    @app.get("/api/reports", response_class=JSONAnswer, tags=["store"])
    async def reports() -> Response:
        """The latest monthly reports served by this server, newest first."""
        return JSONAnswer({"reports": report_dirs(settings.reports_dir)})

    # ---- pages

    def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(templates.get_template(name).render(**context), status_code=status_code)

    @app.get("/", include_in_schema=False)
    async def home() -> HTMLResponse:
        snap = snapshots.current
        return page("index.html.j2", models=snap.graph.n_nodes, loaded_at=snap.loaded_at,
                    reports=report_dirs(settings.reports_dir))

    @app.get("/families", include_in_schema=False)
    async def families_page() -> HTMLResponse:
        return page("families.html.j2")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return page("docs.html.j2")

    @app.get("/models/{model_id:path}", include_in_schema=False)
    async def model_page(model_id: str) -> HTMLResponse:
        snap = snapshots.current
        try:
            node = find(snap.graph, known(snap, model_id_ok(model_id)))
        except UnknownModelError as exc:
            return page("missing.html.j2", 404, model_id=model_id, suggestions=exc.suggestions)
        except BadParameter as exc:
            return page("missing.html.j2", 422, model_id=model_id[:MAX_ID_LENGTH], suggestions=[], reason=str(exc))
        return page("model.html.j2", model_id=snap.graph.ids[node])

    app.add_middleware(Guard, timeout_s=settings.request_timeout_s, snapshots=snapshots)
    return app
