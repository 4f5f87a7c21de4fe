// `lethe convert` and GGUF models through the existing verbs, in-process: exit codes, outputs and
// the one-line errors for inputs a user gets wrong.
using Lethe.IO.Gguf;
using Xunit;
using static Lethe.Tests.Cli.CliRun;

namespace Lethe.Tests.IO;

public class GgufCliTests
{
    private static string Stories => Path.Combine(AppContext.BaseDirectory, "fixtures", "gguf", "stories260K.gguf");

    [Fact]
    public void ConvertWritesBothWaysAndVerbsTakeAGgufModel()
    {
        using var dir = new TempFolder();
        var (rc, stdout, stderr) = Run("convert", Stories, dir.File("hf"), "--to", "hf");
        Assert.True(rc == 0, stderr);
        Assert.Contains("wrote", stdout);
        (rc, _, stderr) = Run("convert", dir.File("hf"), dir.File("s.gguf"), "--to", "gguf", "--type", "bf16");
        Assert.True(rc == 0, stderr);
        using (var f = GgufFile.Open(dir.File("s.gguf"))) Assert.Equal(GgmlType.BF16, f.Tensor("token_embd.weight").Type);
        (rc, stdout, stderr) = Run("info", dir.File("s.gguf"));
        Assert.True(rc == 0, stderr);
        Assert.Contains("bf16", stdout);
        (rc, stdout, stderr) = Run("generate", Stories, "--prompt", "Once upon a time", "--max-new-tokens", "8", "--quiet");
        Assert.True(rc == 0, stderr);
        Assert.StartsWith(", there was a little girl", stdout);
    }

    [Fact]
    public void UserErrorsAreOneLineAndExitOne()
    {
        using var dir = new TempFolder();
        File.WriteAllText(dir.File("math.ksd"), "not a model");
        foreach (var (args, expected) in new (string[], string)[]
        {
            (new[] { "convert", dir.File("math.ksd"), dir.File("out.gguf"), "--to", "gguf" }, "adapters"),
            (new[] { "convert", Stories, Stories, "--to", "gguf" }, "is the input"),
            (new[] { "convert", Stories, dir.File("x"), "--to", "onnx" }, "--to 'onnx'"),
            (new[] { "convert", Stories, dir.File("x"), "--to", "hf", "--type", "q8_0" }, "q8_0 is a GGUF type"),
            (new[] { "convert", Stories, dir.File("x.gguf"), "--to", "gguf", "--type", "q4_k" }, "--type 'q4_k'"),
            (new[] { "convert", Stories, dir.File("x.bin"), "--to", "gguf" }, "must end in .gguf"),
        })
        {
            var (rc, _, stderr) = Run(args);
            Assert.True(rc == 1, $"{string.Join(' ', args)}: exit {rc}, {stderr}");
            Assert.Contains(expected, stderr);
            Assert.Single(stderr.Trim().Split('\n'));
        }
        Assert.Equal(new[] { dir.File("math.ksd") }, Directory.GetFileSystemEntries(dir.Path));
    }
}
