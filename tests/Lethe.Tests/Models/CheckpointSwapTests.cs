// A kill at any instant of the checkpoint swap leaves a run that --resume continues from the newest
// complete checkpoint, and metrics.jsonl never holds a step twice after a resume. Each instant of
// the swap (see Trainer.SaveCheckpoint) is reproduced as the folders it leaves on disk.
using System.Text.Json;
using Lethe.Models;
using Lethe.Models.Training;
using Lethe.Tensors;
using Xunit;

namespace Lethe.Tests.Models;

public class CheckpointSwapTests
{
    private static TransformerModel LoadF32() => ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama"), DType.F32, writable: true);

    private static int[] Corpus() => Enumerable.Range(0, 300).Select(i => 2 + (i * 7) % 40).ToArray();

    private static readonly TrainOptions Options = new() { Steps = 4, LearningRate = 5e-3f, Quiet = true, CheckpointEvery = 2 };

    private static Trainer NewTrainer(TransformerModel m, string dir) => new(m, new TokenStreamSource(Corpus(), 2, 8), Options with { OutDir = dir });

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    /// <summary>(state name, what to leave in OUT given checkpoints of step 2 and step 4, the step a resume must reach).</summary>
    public static IEnumerable<object[]> Instants() => new[]
    {
        new object[] { "new folder half written", (Action<string, string, string>)((o, s2, s4) => { Copy(s2, Path.Combine(o, "checkpoint")); Copy(s4, Path.Combine(o, "checkpoint.tmp")); File.Delete(Path.Combine(o, "checkpoint.tmp", "trainer_state.json")); }), 2 },
        new object[] { "new folder complete, not swapped", (Action<string, string, string>)((o, s2, s4) => { Copy(s2, Path.Combine(o, "checkpoint")); Copy(s4, Path.Combine(o, "checkpoint.tmp")); }), 2 },
        new object[] { "between the two renames", (Action<string, string, string>)((o, s2, s4) => { Copy(s2, Path.Combine(o, "checkpoint.old")); Copy(s4, Path.Combine(o, "checkpoint.tmp")); }), 4 },
        new object[] { "swapped, old not deleted", (Action<string, string, string>)((o, s2, s4) => { Copy(s4, Path.Combine(o, "checkpoint")); Copy(s2, Path.Combine(o, "checkpoint.old")); }), 4 },
        new object[] { "old half deleted", (Action<string, string, string>)((o, s2, s4) => { Copy(s4, Path.Combine(o, "checkpoint")); Copy(s2, Path.Combine(o, "checkpoint.old")); File.Delete(Path.Combine(o, "checkpoint.old", "trainer_state.json")); }), 4 },
    };

    [Theory]
    [MemberData(nameof(Instants))]
    public void AKillDuringTheSwapResumesFromTheNewestCompleteCheckpoint(string instant, Action<string, string, string> leave, int expectedStep)
    {
        string root = Path.Combine(Path.GetTempPath(), $"lethe-swap-{Guid.NewGuid():N}");
        try
        {
            // Checkpoints of step 2 and step 4 from one run; metrics of all 4 steps.
            string run = Path.Combine(root, "run"), s2 = Path.Combine(root, "s2"), s4 = Path.Combine(root, "s4");
            using (var m = LoadF32())
            {
                var t = NewTrainer(m, run);
                t.RunUntil(2);
                Copy(Path.Combine(run, "checkpoint"), s2);
                t.RunUntil(4);
                Copy(Path.Combine(run, "checkpoint"), s4);
            }
            string killed = Path.Combine(root, "killed");
            Directory.CreateDirectory(killed);
            File.Copy(Path.Combine(run, "metrics.jsonl"), Path.Combine(killed, "metrics.jsonl"));
            File.AppendAllText(Path.Combine(killed, "metrics.jsonl"), "{\"step\": 5, \"loss\""); // a line cut by the kill
            leave(killed, s2, s4);

            Assert.True(Trainer.HasCheckpoint(killed), instant);
            using var resumed = LoadF32();
            var trainer = NewTrainer(resumed, killed);
            Assert.True(trainer.TryResume(), instant);
            Assert.Equal(expectedStep, trainer.Step);
            trainer.Run();
            var steps = File.ReadAllLines(Path.Combine(killed, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64()).ToList();
            Assert.Equal(new long[] { 1, 2, 3, 4 }, steps);
            Assert.True(Directory.Exists(Path.Combine(killed, "checkpoint")));
            Assert.False(Directory.Exists(Path.Combine(killed, "checkpoint.tmp")));
            Assert.False(Directory.Exists(Path.Combine(killed, "checkpoint.old")));
        }
        finally { if (Directory.Exists(root)) Directory.Delete(root, true); }
    }
}
