using Strata.Topology;

namespace Strata.Tests.Topology;

/// <summary>The tier resized in the topology file's text, everything else as written (strata scale).</summary>
public sealed class TopologyFileEditorTests
{
    private const string File = """
        {
          // The web tier.
          "web": {
            "root": "wwwroot",
            "nodes": [
              { "name": "web-1", "address": "127.0.2.1:8080" }, // the first
              // the second, on its own
              { "name": "web-2", "address": "127.0.2.2:8080" }
            ]
          },
          "app": { "nodes": [ { "name": "app-1", "address": "127.0.3.1:8080" } ] } /* inline */
        }
        """;

    [Fact]
    public void Add_OnALineOfItsOwnIndentedAsTheLast_CommentsKept()
    {
        var text = TopologyFileEditor.ResizeNodes(File, "web", 0, ["""{ "name": "web-3" }"""]);

        Assert.Equal(File.Replace("""
              { "name": "web-2", "address": "127.0.2.2:8080" }
        """, """
              { "name": "web-2", "address": "127.0.2.2:8080" },
              { "name": "web-3" }
        """), text);
    }

    [Fact]
    public void AddThenRemove_TheFileAsItWas()
    {
        var grown = TopologyFileEditor.ResizeNodes(File, "web", 0, ["""{ "name": "web-3" }""", """{ "name": "web-4" }"""]);

        Assert.Equal(File, TopologyFileEditor.ResizeNodes(grown, "web", 2, []));
    }

    [Fact]
    public void Remove_TheLastEntriesWithTheirComments()
    {
        var text = TopologyFileEditor.ResizeNodes(File, "web", 1, []);

        Assert.Contains("""{ "name": "web-1", "address": "127.0.2.1:8080" }""", text);
        Assert.DoesNotContain("web-2", text);
        Assert.DoesNotContain("the second", text);
        Assert.Contains("// the first", text);
        Assert.Contains("// The web tier.", text);
    }

    [Fact]
    public void InlineArray_AddedOnTheSameLine()
    {
        var text = TopologyFileEditor.ResizeNodes(File, "app", 0, ["""{ "name": "app-2" }"""]);

        Assert.Contains("""[ { "name": "app-1", "address": "127.0.3.1:8080" }, { "name": "app-2" } ] } /* inline */""", text);
    }

    [Fact]
    public void NoTierOrLastNode_Refused()
    {
        Assert.Throws<FormatException>(() => TopologyFileEditor.ResizeNodes(File, "db", 0, []));
        Assert.Throws<FormatException>(() => TopologyFileEditor.ResizeNodes(File, "app", 1, []));
    }
}
