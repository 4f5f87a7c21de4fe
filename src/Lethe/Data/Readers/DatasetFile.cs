// Small file checks shared by the readers: the file exists and is regular UTF-8 text, what its first character is (to tell a
// JSON array from JSON Lines, or SQuAD's {"data": ...} from a flattened line), and a readable label
// for a file name (MMLU's "high_school_physics_test.csv" → "high school physics").
namespace Lethe.Data.Readers;

public static class DatasetFile
{
    public static void RequireFile(string path)
    {
        if (Directory.Exists(path)) throw new LetheException($"{path}: is a folder; give a data set file (.jsonl, .json, .csv or .txt)");
        if (!File.Exists(path)) throw new LetheException($"{path}: data set file not found; check the path");
        Lethe.IO.InputFiles.RequireText(path, "data set file"); // not a pipe; strict UTF-8 (a bad byte names its line)
    }

    /// <summary>The first character that is not whitespace or a byte-order mark, or '\0' for an empty file.</summary>
    public static char FirstNonBlankChar(string path)
    {
        using var reader = new StreamReader(path, detectEncodingFromByteOrderMarks: true);
        int c;
        while ((c = reader.Read()) >= 0)
            if (!char.IsWhiteSpace((char)c) && c != '\uFEFF') return (char)c;
        return '\0';
    }

    /// <summary>
    /// The subject a file name implies: the stem without a split suffix (_test, _dev, _val,
    /// _validation, _train, -test...), underscores and dashes as spaces.
    /// </summary>
    public static string SubjectFromFileName(string path)
    {
        string stem = Path.GetFileNameWithoutExtension(path);
        foreach (var split in new[] { "auxiliary_train", "validation", "test", "dev", "val", "train" })
        {
            string? cut = new[] { "_", "-", "." }.Select(sep => sep + split).FirstOrDefault(suffix => stem.EndsWith(suffix, StringComparison.OrdinalIgnoreCase));
            if (cut is not null) { stem = stem[..^cut.Length]; break; }
        }
        return stem.Replace('_', ' ').Replace('-', ' ').Trim();
    }
}
