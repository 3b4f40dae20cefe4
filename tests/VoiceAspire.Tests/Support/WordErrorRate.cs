namespace VoiceAspire.Tests.Support;

/// <summary>Word error rate: word-level Levenshtein distance over the reference length.</summary>
public static class WordErrorRate
{
    public static string[] Words(string text) =>
        new string(text.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) || c == '\'' ? c : ' ').ToArray())
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>(substitutions + deletions + insertions) / reference words.</summary>
    public static double Compute(string reference, string hypothesis) => Errors(Words(reference), Words(hypothesis)) / (double)Math.Max(1, Words(reference).Length);

    public static int Errors(IReadOnlyList<string> reference, IReadOnlyList<string> hypothesis)
    {
        var previous = Enumerable.Range(0, hypothesis.Count + 1).ToArray();
        var current = new int[hypothesis.Count + 1];
        for (var i = 1; i <= reference.Count; i++)
        {
            current[0] = i;
            for (var j = 1; j <= hypothesis.Count; j++)
            {
                var substitution = previous[j - 1] + (reference[i - 1] == hypothesis[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }
            (previous, current) = (current, previous);
        }
        return previous[hypothesis.Count];
    }
}
