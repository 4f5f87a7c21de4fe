// Forget/retain file formats: corpora, QA pairs, concept articles (chunked, FILE#NAME), JSON
// arrays, plain text; and a bf16 model comes out bf16 with its untrained tensors untouched.
using Lethe.IO;
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Tests.IO;
using Lethe.Unlearning.Training;
using Xunit;

namespace Lethe.Tests.Unlearning.Training;

public class UnlearnDataTests
{
    [Fact]
    public void ReadsEveryFormat()
    {
        using var dir = new TempFolder();
        File.WriteAllText(dir.File("corpus.jsonl"), "{\"text\": \"one\"}\n\n{\"text\": \"two\"}\n");
        File.WriteAllText(dir.File("qa.jsonl"), "{\"question\": \"Who?\", \"answer\": \"Ada\"}\n");
        string article = string.Join(" ", Enumerable.Range(0, 200).Select(i => $"word{i}"));
        File.WriteAllText(dir.File("concepts.jsonl"), $"{{\"concept\": \"A\", \"article\": \"{article}\", \"qa\": []}}\n{{\"concept\": \"B\", \"article\": \"short text\", \"qa\": []}}\n");
        File.WriteAllText(dir.File("cv.json"), $"[{{\"Concept\": \"X\", \"wikipedia_content\": \"{article}\"}}, {{\"Concept\": \"Y\", \"wikipedia_content\": \"other\"}}]");
        File.WriteAllText(dir.File("plain.txt"), "first doc\n\nsecond doc\n");

        Assert.Equal(new[] { "one", "two" }, UnlearnData.Load("forget", new[] { dir.File("corpus.jsonl") }).Examples.Select(e => e.Answer));
        var qa = UnlearnData.Load("forget", new[] { dir.File("qa.jsonl") }).Examples.Single();
        Assert.Equal(("Who?", " Ada"), (qa.Prompt, qa.Answer));
        var chunks = UnlearnData.Load("forget", new[] { dir.File("concepts.jsonl") + "#A" }).Examples;
        Assert.True(chunks.Count > 1);
        Assert.All(chunks, c => Assert.InRange(c.Answer.Length, 1, UnlearnData.ChunkCharacters));
        Assert.Equal(article, string.Join(" ", chunks.Select(c => c.Answer)));
        Assert.Equal(chunks, UnlearnData.Load("forget", new[] { dir.File("cv.json") + "#X" }).Examples);
        Assert.Equal("other", UnlearnData.Load("retain", new[] { dir.File("cv.json") + "#Y" }).Examples.Single().Answer);
        Assert.Equal(new[] { "first doc", "second doc" }, UnlearnData.Load("retain", new[] { dir.File("plain.txt") }).Examples.Select(e => e.Answer));
        Assert.Contains("'Z'", Assert.Throws<LetheException>(() => UnlearnData.Load("forget", new[] { dir.File("cv.json") + "#Z" })).Message);
        // Reading comprehension (MLQA / SQuAD): the evaluation's prompt, the first gold answer.
        File.WriteAllText(dir.File("mlqa.jsonl"), "{\"id\": \"es-1\", \"context\": \"Ana vive en Bilbao.\", \"question\": \"¿Dónde vive Ana?\", \"answers\": {\"text\": [\"Bilbao\"], \"answer_start\": [12]}}\n");
        var mlqa = UnlearnData.Load("retain", new[] { dir.File("mlqa.jsonl") }).Examples.Single();
        Assert.Equal(("Context: Ana vive en Bilbao.\nQuestion: ¿Dónde vive Ana?\nAnswer:", " Bilbao"), (mlqa.Prompt, mlqa.Answer));
        File.WriteAllText(dir.File("noanswer.jsonl"), "{\"context\": \"c\", \"question\": \"q\", \"answers\": {\"text\": []}}\n");
        Assert.Contains("noanswer.jsonl:1", Assert.Throws<LetheException>(() => UnlearnData.Load("retain", new[] { dir.File("noanswer.jsonl") })).Message);
        var d = UnlearnData.Load("forget", new[] { dir.File("corpus.jsonl") });
        Assert.Equal(64, d.Sha256[dir.File("corpus.jsonl")].Length);
    }

    [Fact]
    public void ABf16ModelComesOutBf16WithUntrainedTensorsBitIdentical()
    {
        using var dir = new TempFolder();
        string bf16 = dir.File("bf16");
        using (var m = ModelLoader.Load(UnlearnRunnerTests.ModelDir)) ModelSaver.Save(m, bf16, dtype: DType.BF16);
        var (forget, retain) = UnlearnRunnerTests.Data(dir);
        var method = (ITrainingMethod)MethodRegistry.Get("graddiff");
        var s = MethodSettings.Resolve(method, null, new Dictionary<string, string> { ["steps"] = "2", ["batch_size"] = "2", ["lr"] = "1e-2" });
        var r = UnlearnRunner.Run(method, s, new UnlearnRunOptions
        {
            ModelDir = bf16, OutDir = dir.File("out"), Forget = new[] { forget }, Retain = new[] { retain }, Quiet = true,
            Patterns = new[] { "model.layers.1.mlp.*" },
        });
        using var before = SafeTensorsFile.Open(Path.Combine(bf16, "model.safetensors"));
        using var after = SafeTensorsFile.Open(Path.Combine(r.OutDir, "model.safetensors"));
        foreach (var name in before.Names)
        {
            Assert.Equal(before.Entry(name).DType, after.Entry(name).DType);
            bool same = before.ReadBytes(name).AsSpan().SequenceEqual(after.ReadBytes(name));
            Assert.True(name.StartsWith("model.layers.1.mlp.") ? !same : same, name);
        }
        Assert.Equal(SafeTensorsDType.BF16, after.Entry("model.layers.1.mlp.down_proj.weight").DType);
    }
}
