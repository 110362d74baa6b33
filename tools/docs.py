"""Build the documentation site offline: nbdev's processed notebooks rendered to static HTML with nbconvert.

    python tools/docs.py [--out _docs] [--workers N] [--force]      (or: bash tools/docs.sh)

1. nbdev processes the notebooks exactly as `nbdev-proc-nbs` does for `nbdev-docs` (`nbdev.serve.proc_nbs`, into
   `_proc/`): `#| hide` and export cells are dropped, every exported name gets a `show_doc` cell, which nbdev runs to
   a Markdown definition, backticked names become links. Only the Quarto half of `nbdev-docs` is left out.
2. nbconvert's HTML exporter (JupyterLab template) renders each processed notebook to a page, honouring the Quarto
   cell options nbdev leaves behind (`echo`, `output`, `include`, `code-fold`) and the page's front matter.
3. The pages get the sidebar of `nbs/sidebar.yml` (the one `nbdev-docs` uses; every notebook must be in it), heading
   ids as Quarto makes them (so nbdev's links resolve), links to the hosted docs made relative, and MathJax from the
   `jupyter-server-mathjax` package: the site works from disk or any static server, with no network.
"""

import argparse, html, os, re, shutil, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block notebook_css -%}
<link rel="stylesheet" href="{{ resources.kdf.root }}lab.css">
<style type="text/css">
a.anchor-link { display: none; }
.jp-InputArea { overflow: hidden; }
.jp-InputArea-editor { overflow: hidden; }
.cm-editor.cm-s-jupyter .highlight pre { padding: var(--jp-code-padding) 4px; margin: 0; font-family: inherit;
  font-size: inherit; line-height: inherit; color: inherit; }
.jp-OutputArea-output pre { line-height: inherit; font-family: inherit; }
.jp-RenderedText pre { color: var(--jp-content-font-color1); font-size: var(--jp-code-font-size); }
.jp-Collapser { display: none; }
</style>
{%- endblock notebook_css -%}
{%- block input -%}
<div class="jp-CodeMirrorEditor jp-Editor jp-InputArea-editor" data-type="inline">
<div class="cm-editor cm-s-jupyter">
{{ cell.source | highlight_code(metadata=cell.metadata) }}
</div>
</div>
{%- endblock input -%}
{%- block extra_css -%}
<meta name="description" content="{{ resources.kdf.description | e }}">
<link rel="icon" href="data:,">
{%- endblock extra_css -%}
{%- block html_head_css -%}
<link rel="stylesheet" href="{{ resources.kdf.root }}site.css">
{%- endblock html_head_css -%}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
// jupyter-server-mathjax's MathJax 2 with its HTML-CSS output and STIX-Web fonts (the ones it ships). HTML-CSS
// probes font loading with an `about:blank` font, which Chromium refuses with a console error: a local() one instead.
MathJax.Hub.Config({
  tex2jax: {inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']],
            processEscapes: true, processEnvironments: true},
  TeX: {equationNumbers: {autoNumber: "AMS"}},
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null, scale: 92,
               linebreaks: {automatic: true},
               styles: {"@font-face": {"font-family": "MathJax_Blank", src: "local('MathJax_Blank_None')"}}},
  displayAlign: "center", messageStyle: "none", showMathMenu: false
});
function kdfMathError(message) { console.error("MathJax: " + message); }
MathJax.Hub.Register.MessageHook("TeX Jax - parse error", function (m) { kdfMathError(m[1] + " in " + m[2]); });
MathJax.Hub.Register.MessageHook("Math Processing Error", function (m) { kdfMathError(m[2] && m[2].message); });
// NativeMML (used here only for the hidden assistive MathML) declares TeX web fonts that the package does not ship.
MathJax.Hub.Register.StartupHook("NativeMML Jax Config", function () {
  var styles = MathJax.OutputJax.NativeMML.config.styles;
  for (var rule in styles) if (rule.indexOf("@font-face") === 0) delete styles[rule];
});
MathJax.Hub.Register.StartupHook("End", function () { document.documentElement.setAttribute("data-math", "done"); });
</script>
<script src="{{ resources.kdf.root }}mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"></script>
{%- endblock html_head_js_mathjax -%}
{%- block body_header -%}
<body class="jp-Notebook kdf-page" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<nav class="kdf-sidebar" aria-label="Chapters">{{ resources.kdf.sidebar }}</nav>
<main class="kdf-main">
<header class="kdf-header">
<h1 class="kdf-title">{{ resources.kdf.title | e }}</h1>
{%- if resources.kdf.description %}<p class="kdf-description">{{ resources.kdf.description_html }}</p>{% endif %}
</header>
{%- endblock body_header -%}
{%- block body_footer -%}
<footer class="kdf-footer">Generated from <code>{{ resources.kdf.source | e }}</code> by <code>tools/docs.py</code>
{%- if resources.kdf.repo %} &middot; <a href="{{ resources.kdf.repo }}">source repository</a>{% endif %}</footer>
</main>
</body>
{%- endblock body_footer -%}
"""

CSS = """
:root { --kdf-sidebar: 17rem; --kdf-accent: #1f5f99; }
body.kdf-page { margin: 0; padding: 0; background: #fff; overflow-x: hidden; }
.kdf-sidebar { position: fixed; top: 0; bottom: 0; left: 0; width: var(--kdf-sidebar); overflow-y: auto;
  box-sizing: border-box; padding: 1.2rem 1rem 2rem; background: #f6f8fa; border-right: 1px solid #dde3ea;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.kdf-sidebar .kdf-brand { display: block; font-size: 1.25rem; font-weight: 700; color: #111; text-decoration: none; }
.kdf-sidebar .kdf-repo { display: inline-block; margin: .2rem 0 .8rem; font-size: .85rem; color: #555; }
.kdf-sidebar .kdf-section { margin: 1rem 0 .3rem; font-size: .75rem; font-weight: 700; letter-spacing: .06em;
  text-transform: uppercase; color: #667; }
.kdf-sidebar ul { list-style: none; margin: 0; padding: 0; }
.kdf-sidebar li a { display: block; padding: .22rem .5rem; border-radius: 4px; color: #24292f; text-decoration: none; }
.kdf-sidebar li a:hover { background: #e6ebf1; }
.kdf-sidebar li a.active { background: var(--kdf-accent); color: #fff; }
.kdf-main { margin-left: var(--kdf-sidebar); max-width: 58rem; padding: 1.5rem 2.5rem 3rem; box-sizing: border-box; }
.kdf-header { border-bottom: 1px solid #dde3ea; margin-bottom: 1rem; padding-bottom: .6rem; }
.kdf-title { font: 700 2.1rem/1.2 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: .3rem 0 .5rem; }
.kdf-description { font-size: 1.1rem; color: #444; margin: 0; }
.kdf-footer { margin-top: 3rem; padding-top: .8rem; border-top: 1px solid #dde3ea; font-size: .85rem; color: #666; }
.kdf-header, .kdf-footer { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.jp-Cell { padding: 0 !important; }
.jp-MarkdownCell .jp-RenderedMarkdown { padding-left: 0 !important; }
.jp-RenderedHTMLCommon pre { background: #f6f8fa; border: 1px solid #e3e8ee; border-radius: 4px;
  padding: .55rem .8rem; overflow-x: auto; white-space: pre; margin: .5rem 0 1rem; }
.jp-RenderedHTMLCommon pre code { background: none; padding: 0; }
.jp-OutputArea-output pre { white-space: pre; overflow-x: auto; }
.jp-CodeCell .jp-Cell-inputWrapper .jp-InputArea-editor { background: #f6f8fa; border: 1px solid #e3e8ee; }
.jp-CodeCell .jp-InputArea-editor .highlight pre { padding: .45rem .7rem !important; white-space: pre;
  overflow-x: auto; }
.jp-OutputArea-output { overflow-x: auto; }
.jp-OutputArea-output.jp-RenderedText { padding-left: .7rem; }
.jp-CodeCell { margin: .4rem 0 .8rem; }
.jp-RenderedHTMLCommon { padding-right: 0 !important; font-size: 15px; line-height: 1.55; }
.jp-RenderedHTMLCommon h2 { margin-top: 2rem; }
.jp-CodeCell .jp-InputArea-editor { border-radius: 4px; }
.jp-OutputArea-output.jp-RenderedImage img, .jp-RenderedMarkdown img { max-width: 100%; height: auto; }
.jp-OutputArea-output.jp-RenderedMarkdown > hr:first-child { margin: 1.6rem 0 .4rem; border-top: 1px solid #d0d7de; }
.jp-RenderedMarkdown a.kdf-source { float: right; font-size: smaller; }
.jp-RenderedMarkdown h3[id] code, .jp-RenderedMarkdown h4[id] code { font-size: inherit; }
details.kdf-fold > summary { cursor: pointer; color: #555; font-size: .9rem; margin: .3rem 0; }
@media (max-width: 900px) {
  .kdf-sidebar { position: static; width: auto; border-right: 0; border-bottom: 1px solid #dde3ea; }
  .kdf-main { margin-left: 0; padding: 1rem; }
}
"""


def log(msg):
    print(f"[docs] {msg}", flush=True)


# ---- the sidebar: nbs/sidebar.yml, in Quarto's format ----


def read_sidebar(path: Path):
    "The sidebar: [(section or None, [notebook paths relative to nbs/])] in the file's order, and {path: label}."
    import yaml

    if not path.exists():
        sys.exit(f"docs: {path} is missing; it lists the notebooks in the sidebar, in chapter order.")
    contents = (yaml.safe_load(path.read_text()) or {}).get("website", {}).get("sidebar", {}).get("contents", [])
    groups, labels = [(None, [])], {}

    def walk(items):
        for item in items:
            if isinstance(item, str):
                groups[-1][1].append(item)
            elif isinstance(item, dict) and "contents" in item:
                groups.append((item.get("section") or item.get("text") or "", []))
                walk(item["contents"])
                groups.append((None, []))
            elif isinstance(item, dict) and "href" in item:
                groups[-1][1].append(item["href"])
                if item.get("text"):
                    labels[item["href"]] = str(item["text"])
            else:
                sys.exit(f"docs: {path}: cannot read sidebar entry {item!r}")

    walk(contents)
    return [(s, items) for s, items in groups if items], labels


def notebooks(nbs: Path):
    "Every notebook nbdev documents (the files nbdev-proc-nbs processes), relative to nbs/."
    skip = re.compile(r"^[_.]")
    return sorted(
        p.relative_to(nbs).as_posix()
        for p in nbs.rglob("*.ipynb")
        if not any(skip.match(part) for part in p.relative_to(nbs).parts)
    )


# ---- step 1: nbdev's processing ----


def process(workers: int, force: bool) -> Path:
    from nbdev.serve import proc_nbs

    cfg = get_config()
    try:
        return Path(proc_nbs(str(cfg.nbs_path), n_workers=workers, force=force))
    except Exception as e:
        sys.exit(
            f"docs: nbdev could not process the notebooks (nbdev-docs would fail the same way):\n{e}\n"
            "nbdev runs every export cell, every cell that imports something, and every show_doc cell, in order, "
            "to render the definitions. A cell that imports and also uses names from cells nbdev does not run "
            "fails here: move its imports into a cell of their own (nbdev FAQ)."
        )


# ---- step 2: one page per processed notebook ----

DIRECTIVE = re.compile(r"^#\|\s*([\w-]+)\s*(?::\s*(.*?))?\s*$")
PANDOC_LINK = re.compile(r"(?<!!)\[([^\]\n]*)\]\(([^)\s]+)\)\{([^}\n]*)\}")


def pandoc_attrs(text: str) -> str:
    "Pandoc attributes `{.cls #id key=\"v\"}` as HTML attributes."
    classes, out = [], []
    for m in re.finditer(r'([.#])([\w-]+)|([\w-]+)=("[^"]*"|\S+)', text):
        if m[1] == ".":
            classes.append(m[2])
        elif m[1] == "#":
            out.append(f'id="{html.escape(m[2])}"')
        else:
            out.append(f'{m[3]}="{html.escape(m[4].strip(chr(34)))}"')
    if classes:
        out.insert(0, f'class="{" ".join(classes)}"')
    return " ".join(out)


def pandoc_links(md: str) -> str:
    "Links with pandoc attributes (`[source](url){target=...}`, as show_doc writes them) as HTML links."

    def sub(m):
        cls = ' class="kdf-source"' if m[1] == "source" else ""
        return f'<a href="{html.escape(m[2])}"{cls} {pandoc_attrs(m[3])}>{html.escape(m[1])}</a>'

    return PANDOC_LINK.sub(sub, md)


def front_matter(nb):
    "The YAML front matter nbdev's FrontmatterProc puts in the first raw cell, removed from the notebook."
    import yaml

    for i, cell in enumerate(nb.cells):
        src = cell.source.strip()
        if cell.cell_type == "raw" and src.startswith("---") and src.endswith("---"):
            del nb.cells[i]
            return yaml.safe_load(src.strip("-")) or {}
    return {}


def quarto_cells(nb):
    "Apply the Quarto cell options nbdev leaves in code cells (and strip them), as Quarto would."
    cells, known = [], {"cell_type", "id", "metadata", "source", "outputs", "execution_count", "attachments"}
    for cell in nb.cells:
        for key in set(cell) - known:
            del cell[key]  # nbdev's own marks (has_sd), not nbformat's
        cell.metadata.pop("execution", None)  # nbdev's timings, in a form nbformat's schema refuses
        if cell.cell_type == "markdown":
            cell.source = pandoc_links(cell.source)
            if not re.sub(r"<!--.*?-->", "", cell.source, flags=re.S).strip():
                continue  # nbdev's "do not edit" note
        if cell.cell_type == "code":
            lines, opts = cell.source.splitlines(), {}
            while lines and (m := DIRECTIVE.match(lines[0])):
                opts[m[1]] = (m[2] or "true").strip().strip("'\"").lower()
                lines.pop(0)
            cell.source = "\n".join(lines).strip("\n")
            if opts.get("include") == "false":
                continue
            if opts.get("output") == "false":
                cell.outputs = []
            if opts.get("echo") == "false" or not cell.source.strip():
                cell.metadata.setdefault("transient", {})["remove_source"] = True
            if opts.get("code-fold") in ("true", "show"):
                cell.metadata.setdefault("tags", []).append("kdf-fold-" + opts["code-fold"])
            for out in cell.get("outputs", []):
                md = out.get("data", {}).get("text/markdown")
                if md is not None:
                    out.data["text/markdown"] = pandoc_links("".join(md) if isinstance(md, list) else md)
            if cell.metadata.get("transient", {}).get("remove_source") and not cell.get("outputs"):
                continue
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)  # no widget manager offline; nbdev only adds it when ipywidgets is installed


def pandoc_id(text: str) -> str:
    "The id pandoc (so Quarto) gives a heading, which nbdev's doc links point at."
    s = re.sub(r"[^\w\s.-]", "", text.strip())
    s = re.sub(r"\s+", "-", s).lower()
    return re.sub(r"^[^a-z]+", "", s) or "section"


HEADING = re.compile(r'<h([1-6])( id="[^"]*")?>(.*?)</h\1>', re.S)
HREF = re.compile(r'(<a\b[^>]*?\bhref=")([^"]*)(")')


def rewrite_html(page_html: str, page: str, doc_url: str, out_names: dict) -> str:
    "Quarto-style heading ids, links to the hosted docs and to notebooks made relative, folded exported source."
    page_dir, seen = os.path.dirname(page), {}
    head, sep, body = page_html.partition('<main class="kdf-main">')

    def heading(m):
        inner = re.sub(r'<a class="anchor-link"[^>]*>.*?</a>', "", m[3], flags=re.S)
        if 'class="kdf-title"' in m[0]:
            return m[0]
        base = pandoc_id(html.unescape(re.sub(r"<[^>]+>", " ", inner)))
        n = seen.get(base, 0)
        seen[base] = n + 1
        hid = base if n == 0 else f"{base}-{n}"
        return f'<h{m[1]} id="{hid}">{inner}<a class="anchor-link" href="#{hid}">¶</a></h{m[1]}>'

    body = HEADING.sub(heading, body)

    def href(m):
        target = html.unescape(m[2])
        path, _, frag = target.partition("#")
        site = None
        if doc_url and path.startswith(doc_url):
            site = path[len(doc_url) :] or "index.html"
        elif path.endswith(".ipynb") and not re.match(r"^[a-z][a-z0-9+.-]*:", path):
            site = os.path.normpath(os.path.join(page_dir, path))
        if site is None:
            return m[0]
        site = out_names.get(site, site)
        if site == page:
            new = f"#{frag}" if frag else os.path.basename(page)
        else:
            new = os.path.relpath(site, page_dir or ".") + (f"#{frag}" if frag else "")
        return m[1] + html.escape(new) + m[3]

    body = HREF.sub(href, body)
    page_html = head + sep + body
    if "celltag_kdf-fold-" in page_html:
        page_html = fold_exported_source(page_html)
    return page_html


def fold_exported_source(page_html: str) -> str:
    "Cells with `#| code-fold` (nbdev's `#| exports` cells): their source in a <details>, open for `show`."
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page_html, "html.parser")
    for cell in soup.select(".jp-CodeCell[class*='celltag_kdf-fold-']"):
        wrapper = cell.select_one(".jp-Cell-inputWrapper")
        if wrapper is None:
            continue
        details = soup.new_tag("details", attrs={"class": "kdf-fold"})
        if "celltag_kdf-fold-show" in cell["class"]:
            details["open"] = ""
        summary = soup.new_tag("summary")
        summary.string = "Exported source"
        wrapper.wrap(details)
        details.insert(0, summary)
    return str(soup)


def sidebar_html(groups, titles, out_names, page, brand, repo):
    page_dir = os.path.dirname(page)
    rel = lambda target: os.path.relpath(target, page_dir or ".")
    parts = [f'<a class="kdf-brand" href="{rel("index.html")}">{html.escape(brand)}</a>']
    if repo:
        parts.append(f'<a class="kdf-repo" href="{html.escape(repo)}">{html.escape(repo.split("://")[-1])}</a>')
    for section, items in groups:
        if section:
            parts.append(f'<div class="kdf-section">{html.escape(section)}</div>')
        parts.append("<ul>")
        for nb in items:
            target = out_names[nb]
            active = ' class="active" aria-current="page"' if target == page else ""
            parts.append(f'<li><a href="{rel(target)}"{active}>{html.escape(titles[nb])}</a></li>')
        parts.append("</ul>")
    return "\n".join(parts)


def inline_markdown(text: str) -> str:
    "A line of Markdown (a page's description) as inline HTML, as Quarto renders it."
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    out = markdown2html_mistune(text).strip()
    return out[3:-4] if out.startswith("<p>") and out.endswith("</p>") and out.count("<p>") == 1 else out


def output_name(nb_rel: str, fm: dict) -> str:
    from nbdev.config import nbpath2html

    default = nbpath2html(nb_rel).as_posix()
    return (Path(default).parent / fm["output-file"]).as_posix() if fm.get("output-file") else default


def build(out: Path, workers: int, force: bool):
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    import jupyter_server_mathjax

    t0 = time.time()
    cfg = get_config()
    nbs = Path(cfg.nbs_path)
    groups, labels = read_sidebar(nbs / "sidebar.yml")
    listed = [nb for _, items in groups for nb in items]
    every = notebooks(nbs)
    missing, unknown = sorted(set(every) - set(listed)), sorted(set(listed) - set(every))
    if missing or unknown or len(listed) != len(set(listed)):
        sys.exit(
            "docs: nbs/sidebar.yml must list every notebook once, in chapter order: "
            + "; ".join(
                filter(
                    None,
                    [
                        missing and f"not listed: {', '.join(missing)}",
                        unknown and f"no such notebook: {', '.join(unknown)}",
                        len(listed) != len(set(listed)) and "some are listed twice",
                    ],
                )
            )
        )
    log(f"nbdev-proc-nbs: processing {len(every)} notebooks into _proc/ ({workers} workers)")
    cache = process(workers, force)
    t1 = time.time()

    pages = {}
    for nb_rel in listed:
        nb = nbformat.read(cache / nb_rel, as_version=4)
        fm = front_matter(nb)
        pages[nb_rel] = (nb, fm)
    titles = {k: str(fm.get("title") or Path(k).stem) for k, (_, fm) in pages.items()}
    out_names = {k: output_name(k, fm) for k, (_, fm) in pages.items()}

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    exporter = HTMLExporter(
        template_name="lab",
        template_file="kdfidelity.html.j2",
        extra_loaders=[DictLoader({"kdfidelity.html.j2": TEMPLATE})],
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    brand, repo, doc_url = cfg.title or cfg.lib_name, cfg.git_url, cfg.doc_url
    if doc_url and not doc_url.endswith("/"):
        doc_url += "/"
    for nb_rel, (nb, fm) in pages.items():
        page = out_names[nb_rel]
        root = "../" * page.count("/")
        quarto_cells(nb)
        nb.metadata["title"] = titles[nb_rel] if titles[nb_rel] == brand else f"{titles[nb_rel]} – {brand}"
        resources = {
            "kdf": dict(
                root=root,
                title=titles[nb_rel],
                description=str(fm.get("description") or ""),
                description_html=inline_markdown(str(fm.get("description") or "")),
                source=f"{nbs.name}/{nb_rel}",
                repo=repo,
                sidebar=sidebar_html(groups, {**titles, **labels}, out_names, page, brand, repo),
            ),
            "metadata": {"path": str(cache / Path(nb_rel).parent)},
        }
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        dest = out / page
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(rewrite_html(body, page, doc_url, out_names), encoding="utf-8")

    for f in cache.rglob("*"):  # images and other files the notebooks refer to
        rel = f.relative_to(cache)
        if (
            f.is_file()
            and f.suffix not in (".ipynb", ".yml", ".yaml")
            and not any(p.startswith(".") for p in rel.parts)
        ):
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, out / rel)
    mathjax = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(
        mathjax,
        out / "mathjax",
        ignore=lambda d, names: [n for n in names if Path(d).name == "localization" and n != "en"],
    )
    env = exporter.environment  # JupyterLab's stylesheets, which nbconvert would inline into every page, once
    (out / "lab.css").write_text(
        "".join(env.loader.get_source(env, f"static/{n}.css")[0] for n in ("index", "theme-light"))
    )
    (out / "site.css").write_text(CSS)
    (out / ".nojekyll").write_text("")
    log(f"wrote {len(pages)} pages to {out} (processing {t1 - t0:.0f}s, rendering {time.time() - t1:.0f}s)")


def get_config():
    from nbdev.config import get_config as nbdev_config

    return nbdev_config(ROOT)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="where to write the site (default: doc_path of [tool.nbdev], _docs/)")
    ap.add_argument(
        "--workers", type=int, default=min(os.cpu_count() or 1, 4), help="notebooks nbdev processes at once"
    )
    ap.add_argument("--force", action="store_true", help="process every notebook again, ignoring _proc/'s cache")
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    # Cells nbdev runs for the docs (exports, imports, show_doc) at the cheapest scale, without a display.
    os.environ.setdefault("KDFIDELITY_SCALE", "smoke")
    os.environ.setdefault("MPLBACKEND", "Agg")
    build((args.out or Path(get_config().doc_path)).resolve(), max(args.workers, 1), args.force)


if __name__ == "__main__":
    main()
