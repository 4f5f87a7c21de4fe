// The shipped demo model (models/lethe-demo/): a standard Llama folder within the size limit, that
// clears a floor on a small subset of the test splits (the small world's test sets are prefixes of
// the full ones, none of them in the training corpus); and the end-to-end check of training-free
// unlearning on it with 120 probe items per skill and 60 test items per task: forgetting math with
// KSD removes math and keeps the other skills, code included.
// The floors sit well below the measured scores (MODEL_CARD.md) so that only a broken model,
// loader, tokenizer or harness fails them, not the noise of 20 items.
using System.Text.Json;
using Lethe.Experiments;
using Lethe.Models;
using Lethe.Tests.Data;
using Lethe.Tokenizers;
using Lethe.Unlearning;
using Xunit;

namespace Lethe.Tests.Experiments;

[Collection("small world")]
public class ShippedModelTests(SmallWorld world)
{
    private static readonly string Dir = ShippedModel.Find();

    [Fact]
    public void IsAStandardLlamaFolderWithinTheSizeLimit()
    {
        Assert.InRange(new FileInfo(Path.Combine(Dir, "model.safetensors")).Length, 1_000_000, 40_000_000);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "config.json")));
        Assert.Equal("llama", config.RootElement.GetProperty("model_type").GetString());
        Assert.Equal("LlamaForCausalLM", config.RootElement.GetProperty("architectures")[0].GetString());
        using var model = ModelLoader.Load(Dir);
        Assert.True(model.Config.NumKvHeads < model.Config.NumHeads);   // grouped-query attention
        var tokenizer = Tokenizer.Load(Dir);
        Assert.Equal(model.Config.VocabSize, tokenizer.VocabSize);
        var ids = tokenizer.Encode("Question: what is 3 + 4?", addSpecialTokens: true);
        Assert.Equal(model.Config.BosTokenId, ids[0]);
        Assert.Equal("Question: what is 3 + 4?", tokenizer.Decode(ids, skipSpecialTokens: true));

        // The committed training log: one line per step, the loss falling.
        var log = File.ReadAllLines(Path.Combine(Dir, "training_log.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.True(log.Count >= 1000, $"{log.Count} steps in the training log");
        Assert.True(log[^1].GetProperty("loss").GetDouble() < log[0].GetProperty("loss").GetDouble() / 4);
        Assert.True(File.Exists(Path.Combine(Dir, "MODEL_CARD.md")));
    }

    [Fact]
    public void ClearsAFloorOnASmallTestSubset()
    {
        using var model = ModelLoader.Load(Dir);
        var floors = new Dictionary<string, double> { ["math"] = FloorMath, ["code"] = FloorCode, ["concept_qa"] = FloorConceptQa };
        foreach (var lang in new[] { "en", "de", "es", "ar", "zh", "vi", "hi" }) floors[$"comprehension.{lang}"] = FloorComprehension;
        var experiment = new SkillUnlearning(model, Tokenizer.Load(Dir), Dir, world.Folder)
        {
            TestLimit = 20, TaskNames = floors.Keys.Append("general_mc").Append("sensitive_mc").ToList(), BatchSize = 10,
        };
        var results = experiment.Evaluate(null);
        var scores = SkillUnlearning.Scores(results);
        foreach (var (task, floor) in floors)
            Assert.True(scores[task] >= floor, $"{task}: {scores[task]:F3} on 20 test items, below the floor {floor}");
        // Multiple choice: the letter score is at chance, but the knowledge is there when the options' text is scored.
        var choice = results.Where(r => r.Name.EndsWith("_mc", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, choice.Count);
        foreach (var mc in choice)
            Assert.True(mc.Metrics["cloze_accuracy"] >= FloorCloze, $"{mc.Name}: cloze accuracy {mc.Metrics["cloze_accuracy"]:F3} on 20 test items, below the floor {FloorCloze}");
    }

    [Fact]
    public void ForgettingMathWithKeySpaceDetectionRemovesMathAndKeepsTheOtherSkills()
    {
        // The box needs more forget queries than the small world's 50 probes (docs/unlearning-training-free.md):
        // the full world's probe splits, 120 items per skill; its first 20 test items are the small world's.
        string full = Path.Combine(Path.GetTempPath(), $"lethe-full-world-{Guid.NewGuid():N}");
        try
        {
            Lethe.Data.World.WorldGenerator.Generate(full, new Lethe.Data.World.WorldOptions(Lethe.Data.World.WorldOptions.DefaultSeed, Lethe.Data.World.WorldSize.Full));
            ForgetMath(full);
        }
        finally { Directory.Delete(full, recursive: true); }
    }

    private static void ForgetMath(string worldDir)
    {
        using var model = ModelLoader.Load(Dir);
        // Code is among the skills to keep (a pooled calibration once refused 30 % of its answers);
        // 60 test items per task, so one item is 1.7 %, well inside the margins below. Layers and
        // greedy answers are left to the repro (they cost minutes): last layer, gold answers, α per
        // retain skill, as `lethe unlearn ksd` by default.
        var experiment = new SkillUnlearning(model, Tokenizer.Load(Dir), Dir, worldDir)
        {
            TestLimit = 60, ProbeLimit = 120, BatchSize = 10, TaskNames = new[] { "math", "code", "comprehension.en", "comprehension.de", "general_mc" },
            KsdSweepLayers = false, KsdOwnAnswers = false,
        };
        var beforeResults = experiment.Evaluate(null);
        var adapter = experiment.Fit(MethodSpec.Ksd, "math");
        var afterResults = experiment.Evaluate(adapter.CreateIntervention(model));
        var before = beforeResults.ToDictionary(r => r.Name, PairedBootstrap.GridScore);
        var after = afterResults.ToDictionary(r => r.Name, PairedBootstrap.GridScore);
        string all = string.Join(", ", before.Keys.Select(k => $"{k} {before[k]:F3} → {after[k]:F3}"));
        Assert.True(before["math"] >= FloorMath, $"math before: {before["math"]:F3}");
        Assert.True(after["math"] <= MathKeptAtMost * before["math"], $"math not removed enough: {all}");
        foreach (var task in new[] { "code", "comprehension.en", "comprehension.de", "general_mc" })
            Assert.True(after[task] >= OtherKeptAtLeast * before[task], $"{task} lost more than {1 - OtherKeptAtLeast:P0}: {all}");
        // Every retain skill's rate is reported, on calibration and held-out probes.
        var perSkill = (System.Text.Json.Nodes.JsonArray)adapter.Report["per_retain_skill"]!;
        Assert.Contains(perSkill, s => (string)s!["skill"]! == "code" && (double?)s["calibration_fpr"] <= 0.01 + 1e-12);
    }

    // Floors for 20 items, well below the scores on the full test splits (MODEL_CARD.md: math 0.79,
    // code 0.59, comprehension 0.71–0.90, concept QA 0.995, MC cloze accuracy 0.80 / 0.77). The
    // multiple-choice letter scores have no floor: the model is at chance on them (MODEL_CARD.md says
    // why), and a floor at chance could not fail.
    private const double FloorMath = 0.5, FloorCode = 0.3, FloorComprehension = 0.4, FloorConceptQa = 0.6, FloorCloze = 0.5;

    // What the shipped model meets under KSD (last layer, α per retain skill, 60 items per task;
    // measured in this test: see docs/results for the full splits): math keeps at most this share …
    private const double MathKeptAtMost = 0.3;
    // … and every other skill (multiple choice: cloze accuracy) at least this share.
    private const double OtherKeptAtLeast = 0.9;
}
