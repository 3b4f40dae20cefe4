namespace VoiceAspire.Bench;

/// <summary>--name value pairs; list values are comma-separated.</summary>
public sealed class BenchArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static BenchArgs Parse(string[] args)
    {
        var parsed = new BenchArgs();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"Unexpected argument '{args[i]}'.");
            parsed._values[args[i][2..]] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
        }
        return parsed;
    }

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public int[] Ints(string name, params int[] defaults) =>
        Get(name) is { } v ? v.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray() : defaults;

    public string[] Strings(string name) =>
        Get(name) is { } v ? v.Split(',', StringSplitOptions.RemoveEmptyEntries) : [];
}
