"""The app graph stays acyclic: accounts ← whatsapp ← templates_app ← campaigns ← webhooks."""

from scripts import app_graph


def test_no_module_imports_an_app_above_its_own():
    # given every import of every module of the five apps (lazy and TYPE_CHECKING ones too)
    edges = app_graph.app_edges()

    # then none runs back up the graph, and so there is no cycle
    assert app_graph.violations(edges) == []
    assert app_graph.cycles(edges) == []


def test_the_graph_is_the_documented_one():
    edges = app_graph.app_edges()
    assert ("webhooks", "campaigns") in edges
    assert ("campaigns", "templates_app") in edges
    assert ("templates_app", "whatsapp") in edges
    assert ("whatsapp", "accounts") in edges


def test_a_lazy_import_back_up_is_caught():
    edges = {
        ("campaigns", "templates_app"): ["campaigns.x"],
        ("templates_app", "campaigns"): ["templates_app.services"],
    }
    assert app_graph.violations(edges) == [
        "templates_app.services imports campaigns, which is above templates_app"
    ]
    assert app_graph.cycles(edges) == [["templates_app", "campaigns", "templates_app"]]


def test_relative_imports_resolve_to_their_app():
    module = app_graph.ROOT / "campaigns" / "engine" / "control.py"
    assert "campaigns.tracking" in app_graph.imported_modules(module)
