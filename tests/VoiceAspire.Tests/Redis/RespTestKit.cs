using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Text;
using VoiceAspire.Redis.Protocol;

namespace VoiceAspire.Tests.Redis;

/// <summary>Byte sequences split into segments (as a pipe delivers them), a reference encoder and structural comparison.</summary>
internal static class RespTestKit
{
    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>One sequence made of the given chunks, each its own segment.</summary>
    public static ReadOnlySequence<byte> Segmented(params byte[][] chunks)
    {
        var nonEmpty = chunks.Where(c => c.Length > 0).ToArray();
        if (nonEmpty.Length == 0) return ReadOnlySequence<byte>.Empty;
        var first = new Segment(nonEmpty[0], 0);
        var last = first;
        foreach (var chunk in nonEmpty.Skip(1)) last = last.Append(chunk);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Parses one frame; null when incomplete. The reader must land exactly after the frame.</summary>
    public static RespValue? TryParse(ReadOnlySequence<byte> sequence, out long consumed)
    {
        var reader = new SequenceReader<byte>(sequence);
        if (!RespParser.TryRead(ref reader, RespLimits.Default, out var value))
        {
            consumed = 0;
            return null;
        }
        consumed = reader.Consumed;
        return value;
    }

    /// <summary>Canonical text of a parsed value, for comparing structures.</summary>
    public static string Describe(RespValue value)
    {
        var attributes = value.Attributes is { } a ? "|" + string.Join(",", a.Select(Describe)) + "|" : "";
        return attributes + value.Type switch
        {
            RespType.Null => "null",
            RespType.Integer => $"i:{value.Integer}",
            RespType.Double => $"d:{RespParserFormat(value.Double)}",
            RespType.Boolean => $"b:{value.Boolean}",
            RespType.BigNumber => $"n:{value.BigNumber}",
            RespType.VerbatimString => $"v:{value.Format}:{Convert.ToHexString(value.Bytes!)}",
            _ when value.Items is { } items => $"{value.Type}[{string.Join(",", items.Select(Describe))}]",
            _ => $"{value.Type}:{Convert.ToHexString(value.Bytes!)}",
        };
    }

    private static string RespParserFormat(double d) => double.IsNaN(d) ? "nan" : d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A random RESP2/RESP3 value tree, encoded; returns the encoding and the expected description.</summary>
    public static (byte[] Frame, string Expected) RandomFrame(Random random, int depth = 0)
    {
        var kind = random.Next(depth >= 3 ? 10 : 15);
        switch (kind)
        {
            case 0:
                var simple = RandomText(random, exclude: "\r\n");
                return (Bytes($"+{simple}\r\n"), $"SimpleString:{Convert.ToHexString(Bytes(simple))}");
            case 1:
                var error = "ERR " + RandomText(random, exclude: "\r\n");
                return (Bytes($"-{error}\r\n"), $"SimpleError:{Convert.ToHexString(Bytes(error))}");
            case 2:
                var n = random.NextInt64(long.MinValue, long.MaxValue);
                return (Bytes($":{n}\r\n"), $"i:{n}");
            case 3:
                var blob = new byte[random.Next(0, 300)];
                random.NextBytes(blob); // binary, CR and LF included
                return ([.. Bytes($"${blob.Length}\r\n"), .. blob, .. "\r\n"u8], $"BulkString:{Convert.ToHexString(blob)}");
            case 4:
                return random.Next(3) switch { 0 => (Bytes("$-1\r\n"), "null"), 1 => (Bytes("*-1\r\n"), "null"), _ => (Bytes("_\r\n"), "null") };
            case 5:
                var b = random.Next(2) == 0;
                return (Bytes(b ? "#t\r\n" : "#f\r\n"), $"b:{b}");
            case 6:
                var d = random.Next(5) switch { 0 => double.PositiveInfinity, 1 => double.NegativeInfinity, _ => Math.Round((random.NextDouble() - 0.5) * 1e6, random.Next(0, 8)) };
                var text = double.IsPositiveInfinity(d) ? "inf" : double.IsNegativeInfinity(d) ? "-inf" : d.ToString("R", CultureInfo.InvariantCulture);
                return (Bytes($",{text}\r\n"), $"d:{RespParserFormat(d)}");
            case 7:
                var big = BigInteger.Pow(new BigInteger(random.NextInt64(1, long.MaxValue)), random.Next(1, 5)) * (random.Next(2) == 0 ? -1 : 1);
                return (Bytes($"({big}\r\n"), $"n:{big}");
            case 8:
                var verbatim = RandomText(random, exclude: "");
                var payload = Bytes("txt:" + verbatim);
                return ([.. Bytes($"={payload.Length}\r\n"), .. payload, .. "\r\n"u8], $"v:txt:{Convert.ToHexString(Bytes(verbatim))}");
            case 9:
                var bulkError = Bytes("SYNTAX " + RandomText(random, exclude: ""));
                return ([.. Bytes($"!{bulkError.Length}\r\n"), .. bulkError, .. "\r\n"u8], $"BulkError:{Convert.ToHexString(bulkError)}");
            case 14:
                // attribute then value
                var (attrFrame, attrExpected) = Aggregate(random, depth, '%', RespType.Map, pairs: true);
                var (inner, innerExpected) = RandomFrame(random, depth + 1);
                if (innerExpected.StartsWith('|')) return (inner, innerExpected); // one attribute per value in the reference
                var attrItems = attrExpected[(attrExpected.IndexOf('[') + 1)..^1];
                return ([(byte)'|', .. attrFrame[1..], .. inner], $"|{attrItems}|{innerExpected}");
            default:
                var (prefix, type, pairs) = kind switch
                {
                    10 => ('*', RespType.Array, false),
                    11 => ('~', RespType.Set, false),
                    12 => ('%', RespType.Map, true),
                    _ => ('>', RespType.Push, false),
                };
                return Aggregate(random, depth, prefix, type, pairs);
        }
    }

    private static (byte[], string) Aggregate(Random random, int depth, char prefix, RespType type, bool pairs)
    {
        var count = random.Next(0, 5);
        var children = Enumerable.Range(0, pairs ? count * 2 : count).Select(_ => RandomFrame(random, depth + 1)).ToArray();
        byte[] frame = [.. Bytes($"{prefix}{count}\r\n"), .. children.SelectMany(c => c.Frame)];
        return (frame, $"{type}[{string.Join(",", children.Select(c => c.Expected))}]");
    }

    private static string RandomText(Random random, string exclude)
    {
        const string alphabet = "abcXYZ019 :_-\r\nçé€😀";
        var builder = new StringBuilder();
        var length = random.Next(0, 20);
        while (builder.Length < length)
        {
            var c = alphabet[random.Next(alphabet.Length)];
            if (char.IsHighSurrogate(c) || char.IsLowSurrogate(c)) builder.Append("😀");
            else if (!exclude.Contains(c)) builder.Append(c);
        }
        return builder.ToString();
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
