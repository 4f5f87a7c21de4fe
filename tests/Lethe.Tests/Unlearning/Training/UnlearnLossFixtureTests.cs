// Every weight-editing method's loss, its named terms and the gradient of the loss with respect to
// each trained tensor, against PyTorch (tests/fixtures/unlearn/*.json, written by
// tools/reference/unlearn_losses_reference.py on the tiny Llama fixture). The method's own objective
// runs on the fixture's batches through TrainedModel (trained tensors set to the fixture's perturbed
// values; the reference is the unperturbed model), so this checks the method wiring too.
using Lethe.Models;
using Lethe.Models.Training;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tests.Engine;
using Lethe.Unlearning.Training;
using Lethe.Unlearning.Training.Methods;
using Xunit;

namespace Lethe.Tests.Unlearning.Training;

public class UnlearnLossFixtureTests
{
    private static readonly string ModelDir = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "llama");

    public static IEnumerable<object[]> Cases() => Fixture.List("unlearn").Select(p => new object[] { p });

    [Fact]
    public void EveryTrainingMethodHasAFixture()
    {
        var covered = Fixture.List("unlearn").Select(p => Fixture.Load(p).String("method")).ToHashSet();
        foreach (var m in MethodRegistry.Training)
            Assert.True(covered.Contains(m.Name), $"no PyTorch fixture for '{m.Name}' in tests/fixtures/unlearn; add a case to tools/reference/unlearn_losses_reference.py");
    }

    /// <summary>Returns the same batch on every call (the fixture has one batch per role).</summary>
    private sealed class FixedSource(TrainingBatch batch) : IBatchSource
    {
        public TrainingBatch Next() => batch;
        public long Position { get; set; }
    }

    private static TrainingBatch Batch(Fixture f, string role)
    {
        var shape = f.Shape($"{role}_ids");
        return new TrainingBatch(f.Ints($"{role}_ids"), f.Ints($"{role}_targets"), shape[0], shape[1]) { RowLengths = f.Ints($"{role}_lengths") };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LossTermsAndGradientsMatchPyTorch(string path)
    {
        var f = Fixture.Load(path);
        var method = (ITrainingMethod)MethodRegistry.Get(f.String("method"));
        var given = f.Params.EnumerateObject().Where(p => p.Name is not ("method" or "trained")).ToDictionary(p => p.Name, p => p.Value.GetString()!);
        var settings = MethodSettings.Resolve(method, null, given);
        var names = f.Param("trained").EnumerateArray().Select(e => e.GetString()!).ToList();
        using var reference = ModelLoader.Load(ModelDir);
        using var pair = new TrainedModel(reference, names);
        foreach (var (name, t) in names.Zip(pair.Parameters)) t.CopyFrom(f.Floats($"value.{name}"));

        var context = new UnlearnContext
        {
            Trained = pair.Trained, Reference = reference, Settings = settings,
            Forget = new IBatchSource[] { new FixedSource(Batch(f, "forget")) },
            Retain = f.Has("retain_ids") ? new FixedSource(Batch(f, "retain")) : null,
            Refusals = f.Has("refusal_ids") ? new FixedSource(Batch(f, "refusal")) : null,
        };
        var objective = method.Begin(context);
        if (objective is Rmu.RmuObjective rmu) rmu.Controls[0] = f.Floats("control");

        // The runner's step (an objective in parts, RMU, back-propagates part by part).
        using var arena = new TensorArena();
        var terms = UnlearnStep.Gradients(objective, 0, arena);
        GradCheck.Close(f.Floats("loss"), new[] { (float)terms["loss"] }, 1e-4, f.Describe("loss"));
        foreach (var term in f.Tensors().Where(n => n.StartsWith("term.")))
        {
            string key = term["term.".Length..];
            Assert.True(terms.ContainsKey(key), f.Describe($"the method reports no term '{key}'"));
            GradCheck.Close(f.Floats(term), new[] { (float)terms[key] }, 1e-4, f.Describe(term));
        }
        foreach (var (name, t) in names.Zip(pair.Parameters))
        {
            Assert.NotNull(t.Grad);
            GradCheck.Close(f.Floats($"grad.{name}"), t.Grad!.AsReadOnlySpan(), 2e-4, f.Describe($"gradient of {name}"));
        }
    }
}
