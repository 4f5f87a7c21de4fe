// Every HTML page Lethe writes, opened in headless Chromium as a person would see it: no console
// errors, every SVG drawn with a non-zero size, and no character drawn as a missing-glyph box
// ("tofu"), including text in the seven languages of the demo world (en, de, es, ar, zh, vi, hi).
// The pages are made cheaply: the demo on the tiny random fixture model (2 items per task), the
// verification page on a perturbed copy of it, the RMU sweep page from the committed results, and
// every page committed under docs/results/. A last test shows the checks fail on broken pages.
using System.Text;
using System.Text.Json.Nodes;
using Lethe.Analysis;
using Lethe.Experiments;
using Lethe.Tests.Analysis;
using Lethe.Tests.IO;
using Xunit;
using static Lethe.Tests.Cli.CliRun;

namespace Lethe.Tests.Reports;

public class ReportPagesTests
{
    private static readonly string ModelDir = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama");
    private static string ResultsDir => Path.Combine(Tokenizers.JsReference.RepoRoot, "docs", "results");

    /// <summary>The demo world's languages and the Unicode script most of their letters are in.</summary>
    private static readonly (string Lang, string Script)[] Languages =
        { ("en", "Latin"), ("de", "Latin"), ("es", "Latin"), ("ar", "Arabic"), ("zh", "Han"), ("vi", "Latin"), ("hi", "Devanagari") };

    private static void AssertLooksRight(PageView page, int minSvgs)
    {
        string name = Path.GetFileName(page.Path);
        Assert.True(page.ConsoleErrors.Length == 0, $"{name}: console errors:\n{string.Join("\n", page.ConsoleErrors)}");
        Assert.True(page.Svgs.Length >= minSvgs, $"{name}: {page.Svgs.Length} SVGs, expected at least {minSvgs}");
        foreach (var svg in page.Svgs)
            Assert.True(svg.Width > 0 && svg.Height > 0, $"{name}: SVG #{svg.Index} '{svg.Label}' is drawn {svg.Width}×{svg.Height}");
        Assert.True(page.Glyphs > 20, $"{name}: only {page.Glyphs} glyphs checked — is the page empty?");
        Assert.True(page.Tofu.Length == 0, $"{name}: characters without a font (tofu): " +
            string.Join(", ", page.Tofu.Select(t => $"{t.Codepoint} '{t.Char}' in \"{t.Context}\" ({t.Font})")));
    }

    [Fact]
    public void DemoReportAndTheWorldsSevenLanguagesRender()
    {
        using var dir = new TempFolder();
        string outDir = Path.Combine(dir.Path, "demo");
        var (rc, _, stderr) = Run("demo", ModelDir, "--out", outDir, "--limit", "2", "--probe-limit", "20", "--na-seeds", "1", "--quiet");
        Assert.True(rc == 0, stderr);
        string report = Path.Combine(outDir, "report.html");

        // The same page carrying one comprehension passage and question per language of the world
        // the demo just wrote: what the report's fonts do with the text the model is evaluated on.
        var section = new StringBuilder("<h2>The world's languages</h2>");
        foreach (var (lang, _) in Languages)
        {
            var item = JsonNode.Parse(File.ReadLines(Path.Combine(outDir, "world", "comprehension", lang, "test.jsonl")).First())!;
            string text = System.Net.WebUtility.HtmlEncode($"{item["context"]} {item["question"]}");
            section.Append($"<p lang=\"{lang}\"{(lang == "ar" ? " dir=\"rtl\"" : "")}>{text}</p>");
        }
        string withLanguages = Path.Combine(dir.Path, "report-languages.html");
        File.WriteAllText(withLanguages, File.ReadAllText(report).Replace("</body>", section + "</body>"));

        var views = HeadlessBrowser.Check(new[] { report, withLanguages });
        AssertLooksRight(views[0], minSvgs: 5);   // bars, neurons, KSD curve
        AssertLooksRight(views[1], minSvgs: 5);
        foreach (var (lang, script) in Languages)
        {
            var text = views[1].Languages[lang];
            Assert.True(text.Chars >= 20, $"{lang}: only {text.Chars} characters on the page");
            Assert.True(text.Scripts.GetValueOrDefault(script) > text.Chars / 2, $"{lang}: expected mostly {script}, got {string.Join(", ", text.Scripts)}");
        }
    }

    [Fact]
    public void VerifyRmuSweepAndCommittedResultPagesRender()
    {
        using var pairs = new PairFixtures();
        string unlearned = pairs.Perturbed("u", n => n.Contains("layers.1.mlp.gate_proj"), std: 1.0f);
        string data = Path.Combine(pairs.Folder("data"), "relearn.txt");
        File.WriteAllText(data, string.Join("\n\n", Enumerable.Repeat("Question: Who wrote it?\n Answer: the red one", 20)) + "\n");
        var r = Verification.Run(PairFixtures.Original, unlearned, PairFixtures.Questions, new[] { "How old?", "Which one?", "When was it?", "Is it big?" },
            new VerifyOptions { AnswerTokens = 4, Radius = 0, RelearnData = new[] { data }, RelearnSteps = 2, RelearnBatch = 2, RelearnSeqLen = 32 });
        string verify = Verification.Write(r, pairs.Folder("verify")).html;

        // The sweep page as the current code draws the committed results, and every committed page.
        string sweep = Path.Combine(pairs.Folder("sweep"), "rmu-sweep.html");
        File.WriteAllText(sweep, RmuLayerSweep.Html(JsonNode.Parse(File.ReadAllText(Path.Combine(ResultsDir, "rmu-sweep.json")))!.AsObject()));
        var committed = Directory.GetFiles(ResultsDir, "*.html").OrderBy(f => f, StringComparer.Ordinal).ToList();
        Assert.Contains(committed, f => f.EndsWith("rmu-sweep.html"));

        var views = HeadlessBrowser.Check(new[] { verify, sweep }.Concat(committed));
        AssertLooksRight(views[0], minSvgs: 2);       // KRS per window, probe accuracy
        AssertLooksRight(views[1], minSvgs: 3);       // sensitive, general, confidence
        foreach (var v in views.Skip(2)) AssertLooksRight(v, minSvgs: 1);
    }

    [Fact]
    public void TheChecksFailOnBrokenPages()
    {
        using var dir = new TempFolder();
        string broken = dir.File("broken.html");
        File.WriteAllText(broken, "<!doctype html><html><head><meta charset=\"utf-8\"><title>broken</title></head><body style=\"font-family:sans-serif\">" +
            "<p>An unassigned code point: \u0381 in a sentence that otherwise renders.</p>" +
            "<svg width=\"200\" height=\"100\"><rect width=\"20\" height=\"20\"/></svg><svg width=\"0\" height=\"80\"></svg>" +
            "<script>console.error('drawn wrong'); undefinedFunction();</script></body></html>");
        // Text in scripts DejaVu has no glyphs for, to be rendered with DejaVu as the only font.
        string scripts = dir.File("scripts.html");
        File.WriteAllText(scripts, "<!doctype html><html><head><meta charset=\"utf-8\"><title>scripts</title></head><body style=\"font-family:sans-serif\">" +
            "<p lang=\"en\">Plain Latin text renders with DejaVu.</p><p lang=\"zh\">柳河镇以蜂蜜闻名。</p><p lang=\"hi\">नदी गाँव के पास बहती है।</p></body></html>");
        string fontsConf = dir.File("fonts.conf");
        File.WriteAllText(fontsConf, "<?xml version=\"1.0\"?><!DOCTYPE fontconfig SYSTEM \"fonts.dtd\"><fontconfig>" +
            $"<dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>{dir.File("fc-cache")}</cachedir></fontconfig>");

        var page = HeadlessBrowser.Check(new[] { broken })[0];
        Assert.Equal(new[] { "U+0381" }, page.Tofu.Select(t => t.Codepoint));
        Assert.Contains(page.ConsoleErrors, e => e.Contains("drawn wrong"));
        Assert.Contains(page.ConsoleErrors, e => e.Contains("undefinedFunction"));
        Assert.Equal(new[] { true, false }, page.Svgs.Select(s => s.Width > 0 && s.Height > 0));
        Assert.ThrowsAny<Exception>(() => AssertLooksRight(page, minSvgs: 1));

        var dejavuOnly = HeadlessBrowser.Check(new[] { scripts }, new Dictionary<string, string> { ["FONTCONFIG_FILE"] = fontsConf })[0];
        var missing = dejavuOnly.Tofu.Select(t => t.Char).ToHashSet();
        Assert.Contains("柳", missing);
        Assert.Contains("न", missing);
        Assert.DoesNotContain("P", missing);
        var withNoto = HeadlessBrowser.Check(new[] { scripts })[0];
        Assert.Empty(withNoto.Tofu);
    }
}
