// The layer sweep with both key poolings (ksd key either): on the shipped model and the small world,
// forgetting en, the sweep scores every single layer and pair with the [S1] key and with the mean key
// on the validation split, uses the configuration with the best validation separation (coverage
// minus the worst retain skill's FPR), and the fitted detector is that configuration. For a
// language the mean key separates far better than the key at the prompt's last token (whose
// prompts share one format across languages), so the sweep picks it.
using System.Text.Json.Nodes;
using Lethe.Experiments;
using Lethe.Models;
using Lethe.Tests.Data;
using Lethe.Tokenizers;
using Lethe.Unlearning;
using Xunit;

namespace Lethe.Tests.Experiments;

[Collection("small world")]
public class KsdKeySweepTests(SmallWorld world)
{
    [Fact]
    public void TheSweepChoosesLayersAndKeyOnTheValidationSplit()
    {
        string dir = ShippedModel.Find();
        using var model = ModelLoader.Load(dir);
        var experiment = new SkillUnlearning(model, Tokenizer.Load(dir), dir, world.Folder)
        {
            ProbeLimit = 24, BatchSize = 8, KsdSweepLayers = true, KsdOwnAnswers = false, KsdKey = "either",
        };
        var adapter = experiment.Fit(MethodSpec.Ksd, "comprehension.en");
        var sweep = (JsonObject)adapter.Report["layer_sweep"]!;
        Assert.Equal("validation split", (string)sweep["decided_on"]!);
        var rows = ((JsonArray)sweep["rows"]!).Select(r => r!.AsObject()).ToList();
        int L = model.Config.NumLayers, perKey = L + L * (L - 1); // single layers, and each pair with all and with any
        Assert.Equal(perKey, rows.Count(r => (string)r["key"]! == "last"));
        Assert.Equal(perKey, rows.Count(r => (string)r["key"]! == "mean"));

        static double Separation(JsonObject r) => (double)r["validation_coverage"]! - (double)r["worst_validation_retain_fpr"]!;
        var chosen = (JsonObject)sweep["chosen"]!;
        Assert.Equal(rows.Max(Separation), Separation(chosen), 12);
        var detector = adapter.Detector!;
        Assert.Equal(((JsonArray)chosen["layers"]!).Select(x => (int)x!), detector.Layers);
        Assert.Equal((string)chosen["combine"]! == "all" ? BoxCombine.All : BoxCombine.Any, detector.Combine);
        Assert.Equal(KeyPoolings.Parse((string)chosen["key"]!, "test"), detector.Pooling);

        // The language is told apart by the mean key: its best validation separation beats the [S1] key's.
        double best(string key) => rows.Where(r => (string)r["key"]! == key).Max(Separation);
        Assert.True(best("mean") > best("last"), $"validation separation: mean key {best("mean"):F3}, last key {best("last"):F3}");
        Assert.Equal(KeyPooling.Mean, detector.Pooling);
    }

    [Fact]
    public void KeyEitherWithoutASweepIsRefused()
    {
        string dir = ShippedModel.Find();
        using var model = ModelLoader.Load(dir);
        var experiment = new SkillUnlearning(model, Tokenizer.Load(dir), dir, world.Folder) { ProbeLimit = 20, KsdSweepLayers = false, KsdOwnAnswers = false, KsdKey = "either" };
        var e = Assert.Throws<LetheException>(() => experiment.Fit(MethodSpec.Ksd, "math"));
        Assert.Contains("sweep_layers", e.Message);
    }
}
