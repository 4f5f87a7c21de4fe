// The documented example method (ExampleAdapterMethod.cs) works against the real contract: settings
// resolve from its declarations, the fit picks the k neurons with the largest rise, and its part of
// an adapter file reads back to the same payload through AdapterFileReader.
using Lethe.IO;
using Lethe.Models;
using Lethe.Tokenizers;
using Lethe.Unlearning;
using Lethe.Unlearning.Training;
using Xunit;

namespace Lethe.Tests.Unlearning;

public sealed class AdapterMethodExampleTests
{
    [Fact]
    public void TheDocumentedExampleFitsWritesAndReads()
    {
        var method = new DifferencePruning();
        string V1(string f) => Path.Combine(AppContext.BaseDirectory, "fixtures", "unlearn", "adapters-v1", f);
        using var model = ModelLoader.Load(SyntheticProbes.Fixture("llama"));
        var settings = MethodSettings.Resolve(method, null, new Dictionary<string, string> { ["k"] = "5" });
        var adapter = method.Run(new AdapterFitContext
        {
            Model = model, Tokenizer = Tokenizer.Load(SyntheticProbes.Fixture("llama")), Settings = settings,
            Forget = new[] { ProbeSets.Read(V1("forget.txt")) }, Retain = new[] { ProbeSets.Read(V1("retain.txt")) },
        });
        var neurons = adapter.Pruning!.Neurons;
        Assert.Equal(5, neurons.Count);
        Assert.True(neurons.Zip(neurons.Skip(1)).All(p => p.First.Score >= p.Second.Score));
        Assert.True(neurons[0].Score > 0, "the forget pattern drives some neuron harder than the retain one");
        Assert.Equal("DP 5", method.Label(settings));
        Assert.Equal("5", (string)adapter.Settings!["parameters"]!["k"]!);

        string path = Path.Combine(Path.GetTempPath(), $"lethe-dp-{Guid.NewGuid():N}.safetensors");
        try
        {
            var w = new SafeTensorsWriter();
            method.Write(adapter.Payload, w);
            w.Save(path);
            using var file = SafeTensorsFile.Open(path);
            var back = (SelectivePruning)method.Read(new AdapterFileReader(path, file));
            Assert.Equal(neurons, back.Neurons);
        }
        finally { File.Delete(path); }
    }
}
