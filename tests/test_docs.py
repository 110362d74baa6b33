"""The documentation site: built offline by tools/docs.sh, then every page opened in headless Chromium.

The build is checked against the notebooks themselves (nbs/): every notebook has a page, in the sidebar in chapter
order; `#| hide` cells are not shown; export cells are documented definitions (show_doc), not their source; stored
figures and tables are there; nothing is fetched from the network. In Chromium, every page must render with a title
and no console error or failed request, every image must load, every internal link (and its #anchor) must resolve,
and every formula must be typeset by MathJax without error. Screenshots of the index and of a paper page are saved
in $KDFIDELITY_DOCS_ARTIFACTS (default: a pytest temporary directory), printed at the end.

Chromium is Debian's `chromium` (.ci/run installs it); without it the browser tests skip and the build checks run.
"""

import ast, functools, html, http.server, os, re, shutil, subprocess, threading
import urllib.error, urllib.parse, urllib.request
from pathlib import Path

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup
from nbdev.config import nbpath2html

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
SCREENSHOT_PAGES = ("index.html", "paper/sec4_1_lenet_mnist.html")


def source_notebooks():
    "Every notebook nbdev documents, relative to nbs/ (as nbdev-proc-nbs finds them)."
    return sorted(
        p.relative_to(NBS).as_posix()
        for p in NBS.rglob("*.ipynb")
        if not any(part[0] in "_." for part in p.relative_to(NBS).parts)
    )


NOTEBOOKS = source_notebooks()
PAGES = {nb: nbpath2html(nb).as_posix() for nb in NOTEBOOKS}


def directives(cell):
    "{name: value} of a code cell's leading `#|` lines."
    out = {}
    for line in cell.source.splitlines():
        m = re.match(r"^#\|\s*([\w-]+)\s*(?::\s*(.*))?$", line)
        if not m:
            break
        out[m[1]] = (m[2] or "").strip()
    return out


def body(cell):
    return "\n".join(l for l in cell.source.splitlines() if not l.startswith("#|")).strip()


def squash(text):
    return re.sub(r"\s+", " ", text).strip()


def documented_name(node) -> str:
    "The heading nbdev gives a definition: `Class.method` for a method added with fastcore's `@patch`, else its name."
    patched = any(
        (d.func if isinstance(d, ast.Call) else d).id == "patch"
        for d in node.decorator_list
        if isinstance(d.func if isinstance(d, ast.Call) else d, ast.Name)
    )
    if not patched:
        return node.name
    owner = node.args.args[0].annotation
    return f"{ast.unparse(owner).strip(chr(39) + chr(34))}.{node.name}"


class Expect:
    "What a notebook's page must show, read from the notebook."

    def __init__(self, nb_rel):
        nb = nbformat.read(NBS / nb_rel, as_version=4)
        self.hidden, self.exported, self.names = [], [], []
        self.images = self.tables = 0
        self.math = False
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                self.images += len(re.findall(r"!\[[^\]]*\]\([^)]+\)", cell.source))
                self.tables += len(re.findall(r"^\s*\|?\s*:?-{3,}:?\s*\|", cell.source, re.M))
                self.math |= bool(re.search(r"\$[^$\n]+\$", cell.source))
                continue
            if cell.cell_type != "code":
                continue
            d = directives(cell)
            if "hide" in d:
                if body(cell):
                    self.hidden.append(squash(body(cell)))
                continue
            if {"export", "exporti"} & d.keys():
                self.exported.append(squash(body(cell)))
            if "export" in d:
                self.names += [
                    documented_name(n)
                    for n in ast.parse(body(cell)).body
                    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                    and not n.name.startswith("_")
                ]
                continue
            if d.get("output") == "false" or d.get("include") == "false" or "exporti" in d:
                continue
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                self.images += any(k.startswith("image/") for k in data)
                self.tables += "<table" in "".join(data.get("text/html", ""))


def sidebar_order():
    "The notebooks in nbs/sidebar.yml, in its order."
    found = []

    def walk(items):
        for item in items:
            if isinstance(item, str):
                found.append(item)
            elif "contents" in item:
                walk(item["contents"])
            elif "href" in item:
                found.append(item["href"])

    walk(yaml.safe_load((NBS / "sidebar.yml").read_text())["website"]["sidebar"]["contents"])
    return found


# ---- the build ----


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs") / "_docs"
    run = subprocess.run(["bash", "tools/docs.sh", "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    if run.returncode:
        pytest.fail(f"tools/docs.sh failed ({run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-6000:]}")
    return out


def soup_of(site, page):
    return BeautifulSoup((site / page).read_text(encoding="utf-8"), "html.parser")


def test_every_notebook_has_a_page_in_the_sidebar_in_chapter_order(site):
    for nb, page in PAGES.items():
        assert (site / page).is_file(), f"no page {page} for nbs/{nb}"
    order = sidebar_order()
    assert sorted(order) == NOTEBOOKS, "nbs/sidebar.yml must list every notebook once"
    assert order[0] == "index.ipynb"
    numbered = [nb for nb in order if re.match(r"^\d+_", nb)]
    assert numbered == sorted(numbered, key=lambda nb: int(nb.split("_")[0])), "library chapters out of order"
    for page in PAGES.values():
        nav = soup_of(site, page).select_one("nav.kdf-sidebar")
        hrefs = [urllib.parse.urljoin(page, a["href"]) for a in nav.select("li a")]
        assert hrefs == [PAGES[nb] for nb in order], page
        assert [urllib.parse.urljoin(page, a["href"]) for a in nav.select("li a.active")] == [page]


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_page_follows_the_nbdev_directives(site, nb):
    expect, page = Expect(nb), PAGES[nb]
    soup = soup_of(site, page)
    main = soup.select_one("main.kdf-main")
    assert soup.title and soup.title.get_text().strip()
    assert main.select_one("h1.kdf-title").get_text().strip()
    shown = [e.get_text().strip() for e in soup.select(".jp-CodeCell .jp-InputArea-editor")]  # the code cells shown
    assert not [src for src in shown if "#|" in src], "cell directives shown as code"
    assert not [src for src in shown if src.startswith("show_doc(")], "show_doc calls shown as code (echo: false)"
    shown = {squash("\n".join(l for l in src.splitlines() if not l.lstrip().startswith("#|"))) for src in shown}
    for src in expect.hidden:
        assert src not in shown, f"a #| hide cell is shown: {src[:120]}"
    for src in expect.exported:
        assert src not in shown, f"an export cell is shown as code: {src[:120]}"
    headings = {
        h.get_text().replace("¶", "").strip()
        for h in main.select(".jp-OutputArea-output h2, .jp-OutputArea-output h3, .jp-OutputArea-output h4")
    }
    missing = [n for n in expect.names if n not in headings]
    assert not missing, f"exported but not documented with show_doc: {missing}"
    assert len(main.select("img")) >= expect.images, "stored figures missing"
    assert len(main.select("table")) >= expect.tables, "tables missing"
    prose = squash(" ".join(e.get_text(" ") for e in main.select(".jp-RenderedMarkdown")))
    assert "{target=" not in prose and not re.search(r"\]\((?:https?:|[\w./-]+\.(?:ipynb|html))", prose), "raw Markdown"
    external = [
        t.get("src") or t.get("href")
        for t in soup.select("script[src], link[href], img[src]")
        if re.match(r"^(https?:)?//", t.get("src") or t.get("href"))
    ]
    assert not external, f"the page loads files from the network: {external}"


# ---- in Chromium ----


def chromium():
    for path in (
        os.environ.get("KDFIDELITY_CHROMIUM"),
        "/usr/lib/chromium/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if path and Path(path).is_file():
            return path


@pytest.fixture(scope="module")
def server(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    path = chromium()
    if not path:
        pytest.skip("Chromium is not installed (Debian: apt-get install -y chromium; .ci/run does it)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
    )
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    path = Path(os.environ.get("KDFIDELITY_DOCS_ARTIFACTS") or tmp_path_factory.mktemp("docs-screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@functools.lru_cache(maxsize=None)
def fetch(url):
    "(HTTP status, ids in the page) of a URL on the test server."
    try:
        with urllib.request.urlopen(url) as r:
            text, status = r.read().decode("utf-8", "replace"), r.status
    except urllib.error.HTTPError as e:
        return e.code, frozenset()
    return status, frozenset(html.unescape(i) for i in re.findall(r'\bid="([^"]+)"', text))


FAILED_MATH = """() => MathJax.Hub.getAllJax().filter(j => {
  const frame = document.getElementById(j.inputID + "-Frame");
  return j.texError || !frame || /<merror|mathcolor="red"/.test(frame.dataset.mathml || "");
}).map(j => j.originalText)"""
RAW_TEX = """() => {
  const main = document.querySelector("main").cloneNode(true);
  main.querySelectorAll("pre, code, script, .MathJax, .MathJax_Display, .MathJax_Preview").forEach(e => e.remove());
  return (main.innerText.match(/\\$[^$\\n]*\\\\[A-Za-z]+[^$\\n]*\\$|\\$\\$/g) || []);
}"""
BROKEN_IMAGES = """() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))
                                                  .map(i => i.getAttribute("src").slice(0, 80))"""


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_page_renders_in_chromium(site, server, browser, artifacts, nb, capsys):
    page_rel, expect = PAGES[nb], Expect(nb)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    problems, external = [], []
    context.route(
        lambda url: not url.startswith((server, "data:", "about:", "blob:")),
        lambda route: (external.append(route.request.url), route.abort()),
    )
    page = context.new_page()
    page.set_default_timeout(120_000)  # a guard against a hang, not a speed check
    page.on(
        "console", lambda m: m.type == "error" and problems.append(f"console: {m.text} {m.location.get('url', '')}")
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    try:
        page.goto(server + page_rel, wait_until="load")
        page.wait_for_function("document.documentElement.dataset.math === 'done'")
        assert page.title().strip() and page.locator("h1.kdf-title").inner_text().strip()
        assert not external, f"requests outside the site: {external}"
        assert not problems, "\n".join(problems)

        assert page.evaluate(BROKEN_IMAGES) == [], "images that did not load"
        assert page.evaluate("document.images.length") >= expect.images

        typeset = page.evaluate("MathJax.Hub.getAllJax().length")
        if expect.math:
            assert typeset > 0, "the page has TeX but MathJax typeset none"
        assert page.evaluate(FAILED_MATH) == [], "formulas MathJax could not typeset"
        assert page.evaluate(RAW_TEX) == [], "TeX left untypeset in the text"

        here = page.url.split("#")[0]
        ids = set(page.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
        bad = []
        for href in sorted(set(page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"))):
            if not href.startswith(server):
                continue
            url, _, frag = href.partition("#")
            frag = urllib.parse.unquote(frag)
            if url == here:
                status, target_ids = 200, ids
            else:
                status, target_ids = fetch(url)
            if status != 200:
                bad.append(f"{href}: HTTP {status}")
            elif frag and frag not in target_ids:
                bad.append(f"{href}: no #{frag} there")
        assert not bad, "internal links that do not resolve:\n" + "\n".join(bad)

        if page_rel in SCREENSHOT_PAGES:
            stem = page_rel.replace("/", "_").removesuffix(".html")
            page.screenshot(path=artifacts / f"{stem}-top.png")
            for what, selector in (("definition", ".jp-OutputArea-output h3[id]"), ("figure", "main img")):
                target = page.locator(selector).first
                if target.count():
                    target.scroll_into_view_if_needed()
                    page.evaluate("window.scrollBy(0, -150)")
                    page.screenshot(path=artifacts / f"{stem}-{what}.png")
            with capsys.disabled():
                print(f"\n[docs] screenshots of {page_rel} in {artifacts}")
    finally:
        context.close()
