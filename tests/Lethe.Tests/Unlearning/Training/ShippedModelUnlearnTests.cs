// RMU on the shipped demo model in CI time: a few steps with the demo preset on the small world's
// sensitive forget corpus (general text as retain) must lower the sensitive multiple-choice score
// read by cloze, measured before and after on the same 40 test items, and keep general knowledge.
using Lethe.Data.Readers;
using Lethe.Evaluation;
using Lethe.Evaluation.Tasks;
using Lethe.Experiments;
using Lethe.Models;
using Lethe.Tests.Data;
using Lethe.Tests.IO;
using Lethe.Tokenizers;
using Lethe.Unlearning.Training;
using Xunit;

namespace Lethe.Tests.Unlearning.Training;

[Collection("small world")]
public class ShippedModelUnlearnTests(SmallWorld world)
{
    private static (double sensitive, double general) Cloze(string modelDir, string worldDir)
    {
        using var model = ModelLoader.Load(modelDir);
        var eval = new EvalModel(model, Tokenizer.Load(modelDir), modelDir) { BatchSize = 10 };
        double Score(string name, string file) =>
            new MultipleChoiceTask(name, DatasetReader.ReadMultipleChoice(Path.Combine(worldDir, file)).Take(40).ToList()).Run(eval).Metrics["cloze_accuracy"];
        return (Score("sensitive_mc", "sensitive/mc_test.jsonl"), Score("general_mc", "general_mc/test.jsonl"));
    }

    [Fact]
    public void AFewRmuStepsLowerTheSensitiveClozeScoreAndKeepGeneralKnowledge()
    {
        string shipped = ShippedModel.Find();
        using var dir = new TempFolder();
        var method = (ITrainingMethod)MethodRegistry.Get("rmu");
        var settings = MethodSettings.Resolve(method, "demo", new Dictionary<string, string> { ["steps"] = "12" });
        var result = UnlearnRunner.Run(method, settings, new UnlearnRunOptions
        {
            ModelDir = shipped, OutDir = dir.File("rmu"), Quiet = true,
            Forget = new[] { Path.Combine(world.Folder, "sensitive", "forget_corpus.jsonl") },
            Retain = new[] { Path.Combine(world.Folder, "general_text", "train.txt") },
        });
        var before = Cloze(shipped, world.Folder);
        var after = Cloze(result.OutDir, world.Folder);
        Assert.True(after.sensitive <= before.sensitive - 0.1, $"sensitive cloze {before.sensitive:F3} -> {after.sensitive:F3}: RMU did not forget");
        Assert.True(after.general >= before.general - 0.1, $"general cloze {before.general:F3} -> {after.general:F3}: RMU damaged general knowledge");
    }
}
