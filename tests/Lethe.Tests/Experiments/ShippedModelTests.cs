// The shipped demo model (models/lethe-demo/): a standard Llama folder within the size limit, that
// clears a floor on a small subset of the test splits (the small world's test sets are prefixes of
// the full ones, none of them in the training corpus); and the end-to-end check of training-free
// unlearning on it with 120 probe items per skill: forgetting math removes math and keeps the other skills.
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
        var experiment = new SkillUnlearning(model, Tokenizer.Load(Dir), Dir, worldDir)
        {
            TestLimit = 20, ProbeLimit = 120, BatchSize = 10, TaskNames = new[] { "math", "comprehension.en", "comprehension.de", "general_mc" },
        };
        var before = SkillUnlearning.Scores(experiment.Evaluate(null));
        var adapter = experiment.Fit(MethodSpec.Ksd, "math");
        var after = SkillUnlearning.Scores(experiment.Evaluate(adapter.CreateIntervention(model)));
        Assert.True(before["math"] >= FloorMath, $"math before: {before["math"]:F3}");
        Assert.True(after["math"] <= 0.4 * before["math"], $"math: {before["math"]:F3} before, {after["math"]:F3} after");
        foreach (var task in new[] { "comprehension.en", "comprehension.de", "general_mc" })
            Assert.True(after[task] >= before[task] - 0.15, $"{task}: {before[task]:F3} before, {after[task]:F3} after");
    }

    // Floors for 20 items, well below the scores on the full test splits (MODEL_CARD.md: math 0.79,
    // code 0.59, comprehension 0.71–0.90, concept QA 0.995, MC cloze accuracy 0.80 / 0.77). The
    // multiple-choice letter scores have no floor: the model is at chance on them (MODEL_CARD.md says
    // why), and a floor at chance could not fail.
    private const double FloorMath = 0.5, FloorCode = 0.3, FloorComprehension = 0.4, FloorConceptQa = 0.6, FloorCloze = 0.5;
}
