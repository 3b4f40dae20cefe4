using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using FluentValidation;
using VoiceAspire.Contracts.Audio;

namespace VoiceAspire.Api.Audio;

/// <summary>
/// Turns a client's byte stream (int16 / int32 / float32 little-endian PCM, mono or interleaved, any supported
/// rate, optionally behind a WAV header) into 16 kHz mono float samples in [-1, 1].
/// </summary>
/// <remarks>
/// <para><b>Format precedence.</b> If the stream's first bytes are a RIFF/WAVE header, the header is the truth
/// for encoding, rate and channels, whatever was declared: a client that sends a WAV file describes it
/// exactly, while a declaration is often a client-library default. Otherwise each declared field is used;
/// an undeclared encoding is auto-detected (<see cref="PcmFormatDetector"/>) from the first
/// <see cref="AudioNormalizerOptions.DetectionBytes"/> of non-silent data and fixed for the stream; undeclared
/// rate and channels default to 16000 Hz / 1 (raw PCM carries no rate).</para>
/// <para><b>Leading digital silence</b> (zero bytes) defers detection. Zeros decode to zeros in every encoding,
/// only their duration depends on it, so while undecided the normalizer emits the silence at the shortest
/// duration any encoding gives it (4-byte samples) and, once the encoding is known, the rest. The output is
/// identical to having known the encoding from the start. A stream that is silent to its end is int16
/// (<see cref="AudioFormatSource.Default"/>).</para>
/// <para><b>Rejected chunks.</b> <see cref="Push"/> throws <see cref="AudioFormatException"/> for a chunk that
/// cannot be audio and leaves the output stream untouched: the chunk is dropped whole, and nothing it would have
/// changed is changed. Declared/known float32 data is checked sample by sample (NaN, ±∞ or |x| &gt; 16 rejects the
/// chunk). Two rejections also discard bytes buffered by earlier chunks that belong to the same undecodable
/// unit: a rejected WAV header (the normalizer returns to the start of the stream) and a failed detection (the
/// undecided, never-output bytes are dropped and detection starts over with the next chunk). Dropped bytes are
/// counted in <see cref="BytesDropped"/>.</para>
/// <para><b>Memory bounds</b> (per instance): while the format is unknown, a buffer for the WAV header (at most
/// 64 KiB) or the undecided detection bytes (at most <see cref="AudioNormalizerOptions.MaxDetectionBytes"/>,
/// 32 KiB; leading silence is counted, not stored), released once the format is known; a partial frame carried
/// between pushes (&lt; 4 × MaxChannels bytes); a 4096-float decode block; the resampler's history (taps + 4096
/// floats, ≈ 17 KB at 48 kHz). The resampler's coefficient tables are shared by all sessions (&lt; 1 MB for all
/// the supported rates). Nothing grows with the stream's length; steady-state <see cref="Push"/> allocates
/// nothing.</para>
/// One per session; not thread-safe.
/// </remarks>
public sealed class AudioNormalizer
{
    /// <summary>The rate of the samples produced.</summary>
    public const int OutputRate = 16_000;

    /// <summary>Most bytes a WAV header (everything before the audio of the data chunk) may take.</summary>
    public const int MaxWavHeaderBytes = 64 * 1024;

    private const int MonoBlock = 4096;
    private static readonly AudioNormalizerOptionsValidator Validator = new();

    private enum Stage { Start, Detecting, Streaming, Finished }

    private enum Discard { Chunk, WavHeader, Detection }

    private readonly AudioNormalizerOptions _options;
    private readonly PcmEncoding? _declaredEncoding;
    private readonly int _rawRate, _rawChannels;
    private readonly byte[] _carry;

    // Stream state. Push plans a chunk from it without changing it (bytes may be written to _head beyond
    // _headLength only), validates the plan, then commits it; a rejected chunk leaves all of it as it was.
    private Stage _stage = Stage.Start;
    private byte[] _head = [];          // Start: WAV signature/header bytes; Detecting: undecided bytes
    private int _headLength;
    private long _zeroBytes;            // Detecting: leading zero bytes (counted, not stored)
    private bool _sawSignal;            // Detecting: a non-zero byte arrived; _head holds (zeroBytes % 4C) zeros + data
    private long _silentFrames;         // zero frames emitted for the leading silence so far
    private long? _dataRemaining;       // WAV: audio bytes the data chunk still holds (null: unbounded)
    private int _carryLength;           // Streaming: bytes of an incomplete frame
    private ResolvedAudioFormat? _format;
    private Resampler? _resampler;
    private float[] _mono = [];
    private Discard _discard;

    public AudioNormalizer(DeclaredAudioFormat declared, AudioNormalizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(declared);
        _options = options ?? new AudioNormalizerOptions();
        Validator.ValidateAndThrow(_options);

        if (declared.Encoding is { } encoding && !Enum.IsDefined(encoding))
            throw new AudioFormatException($"Unknown PCM encoding {(int)encoding}.");
        if (declared.SampleRate is { } rate && !_options.SupportedRates.Contains(rate))
            throw new AudioFormatException(
                $"Sample rate {rate} Hz is not supported (supported: {string.Join(", ", _options.SupportedRates)} Hz).");
        if (declared.Channels is { } channels && (channels < 1 || channels > _options.MaxChannels))
            throw new AudioFormatException($"{channels} channels declared (1..{_options.MaxChannels} supported).");

        Declared = declared;
        _declaredEncoding = declared.Encoding;
        _rawRate = declared.SampleRate ?? _options.DefaultSampleRate;
        _rawChannels = declared.Channels ?? _options.DefaultChannels;
        _carry = new byte[4 * _options.MaxChannels];
    }

    public DeclaredAudioFormat Declared { get; }

    /// <summary>The format the stream is decoded with; null until known.</summary>
    public ResolvedAudioFormat? Format => _format;

    /// <summary>16 kHz samples produced so far.</summary>
    public long SamplesOut => _resampler?.OutputCount ?? 0;

    /// <summary>Client bytes not decoded: rejected chunks, discarded undecided bytes, a trailing partial frame, bytes after a WAV data chunk.</summary>
    public long BytesDropped { get; private set; }

    /// <summary>The resampler's filter design (null before the rate is known, or for 16 kHz input).</summary>
    public ResamplerDesign? ResamplerDesign => _resampler?.Design;

    /// <summary>
    /// Decodes one chunk of client bytes; appends the 16 kHz mono samples it yields. Throws
    /// <see cref="AudioFormatException"/> when the chunk cannot be audio; the normalizer stays usable after a
    /// rejected chunk (the bad chunk is dropped whole, its state unchanged).
    /// </summary>
    public void Push(ReadOnlySpan<byte> chunk, IBufferWriter<float> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_stage == Stage.Finished) throw new InvalidOperationException("The audio stream was flushed.");
        if (chunk.IsEmpty) return;
        _discard = Discard.Chunk;
        Plan plan;
        try
        {
            plan = Prepare(chunk);
            Validate(plan);
        }
        catch (AudioFormatException)
        {
            Reject(chunk.Length);
            throw;
        }
        Commit(plan, output);
    }

    /// <summary>
    /// End of stream: decodes what is buffered (a short stream's detection buffer, raw bytes that looked like
    /// the start of a WAV signature) and emits the resampler's tail. Never throws for content: bytes that
    /// still cannot be decoded (an incomplete WAV header or frame, an implausible short tail) are dropped and
    /// counted. Idempotent; Push after Flush throws.
    /// </summary>
    public void Flush(IBufferWriter<float> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_stage == Stage.Finished) return;
        _discard = Discard.Chunk;
        try
        {
            var plan = PlanFromState();
            var commit = false;
            if (_stage == Stage.Start && _headLength > 0)
            {
                if (_headLength < WavHeaderParser.SignatureLength)
                {
                    plan = PrepareRaw(plan, _head.AsSpan(0, _headLength), []);
                    if (plan.Stage == Stage.Detecting) plan = FinishDetection(plan);
                    commit = true;
                }
                else BytesDropped += _headLength; // an incomplete WAV header
            }
            else if (_stage == Stage.Detecting)
            {
                plan = FinishDetection(plan);
                commit = true;
            }
            if (commit)
            {
                try
                {
                    Validate(plan);
                    Commit(plan, output);
                }
                catch (AudioFormatException)
                {
                    BytesDropped += plan.Audio1.Length + plan.Audio2.Length;
                }
            }
            BytesDropped += _carryLength;
            _carryLength = 0;
            _resampler?.Flush(output);
        }
        finally
        {
            _stage = Stage.Finished;
        }
    }

    /// <summary>What a chunk does to the stream, computed without changing it.</summary>
    private ref struct Plan
    {
        public Stage Stage;
        public ResolvedAudioFormat? Format;
        public int HeadLength;
        public long ZeroBytes;
        public bool SawSignal;
        public long SilentFrames;       // total zero frames emitted for the leading silence after commit
        public long? DataRemaining;
        public long Dropped;
        public ReadOnlySpan<byte> Audio1; // decoded first (bytes in _head)
        public ReadOnlySpan<byte> Audio2; // then these (bytes of the chunk)
    }

    private Plan PlanFromState() => new()
    {
        Stage = _stage,
        Format = _format,
        HeadLength = _headLength,
        ZeroBytes = _zeroBytes,
        SawSignal = _sawSignal,
        SilentFrames = _silentFrames,
        DataRemaining = _dataRemaining,
    };

    private Plan Prepare(ReadOnlySpan<byte> chunk)
    {
        var plan = PlanFromState();
        switch (_stage)
        {
            case Stage.Start:
                return PrepareStart(plan, chunk);
            case Stage.Detecting:
                return FeedDetection(plan, chunk);
            default:
                plan.Audio2 = LimitToData(chunk, ref plan);
                return plan;
        }
    }

    private Plan PrepareStart(Plan plan, ReadOnlySpan<byte> chunk)
    {
        var have = _headLength;
        if (!StartsLikeWav(_head.AsSpan(0, have), chunk))
            return PrepareRaw(plan, _head.AsSpan(0, have), chunk);

        // A WAV header (or the start of its signature): gather it, up to 64 KiB.
        _discard = Discard.WavHeader;
        var take = Math.Min(chunk.Length, MaxWavHeaderBytes - have);
        EnsureHead(have + take, MaxWavHeaderBytes);
        chunk[..take].CopyTo(_head.AsSpan(have));
        have += take;
        chunk = chunk[take..];
        plan.HeadLength = have;
        if (have < WavHeaderParser.SignatureLength) return plan;

        var header = WavHeaderParser.TryParse(_head.AsSpan(0, have), _options, MaxWavHeaderBytes);
        if (header is null)
        {
            if (have >= MaxWavHeaderBytes)
                throw new AudioFormatException($"WAV header without a data chunk in the first {MaxWavHeaderBytes / 1024} KiB.");
            return plan;
        }
        _discard = Discard.Chunk;
        plan.Stage = Stage.Streaming;
        plan.Format = new ResolvedAudioFormat(header.Encoding, header.SampleRate, header.Channels, AudioFormatSource.WavHeader);
        plan.HeadLength = 0;
        plan.DataRemaining = header.DataLength;
        plan.Audio1 = LimitToData(_head.AsSpan(header.DataOffset, have - header.DataOffset), ref plan);
        plan.Audio2 = LimitToData(chunk, ref plan);
        return plan;
    }

    private static bool StartsLikeWav(ReadOnlySpan<byte> buffered, ReadOnlySpan<byte> chunk)
    {
        Span<byte> signature = stackalloc byte[WavHeaderParser.SignatureLength];
        var n = Math.Min(buffered.Length, signature.Length);
        buffered[..n].CopyTo(signature);
        var m = Math.Min(chunk.Length, signature.Length - n);
        chunk[..m].CopyTo(signature[n..]);
        return WavHeaderParser.MayBeWav(signature[..(n + m)]);
    }

    /// <summary>The stream is raw PCM: <paramref name="buffered"/> (bytes in _head at offset 0) then <paramref name="chunk"/>.</summary>
    private Plan PrepareRaw(Plan plan, ReadOnlySpan<byte> buffered, ReadOnlySpan<byte> chunk)
    {
        if (_declaredEncoding is { } encoding)
        {
            plan.Stage = Stage.Streaming;
            plan.Format = new ResolvedAudioFormat(encoding, _rawRate, _rawChannels, AudioFormatSource.Declared);
            plan.HeadLength = 0;
            plan.Audio1 = buffered;
            plan.Audio2 = chunk;
            return plan;
        }
        plan.Stage = Stage.Detecting;
        plan.HeadLength = 0;
        // The buffered bytes start with 'R' (a WAV signature prefix), so there is no leading silence and
        // FeedDetection copies them onto themselves.
        plan = FeedDetection(plan, buffered);
        return plan.Stage == Stage.Detecting ? FeedDetection(plan, chunk) : plan;
    }

    private Plan FeedDetection(Plan plan, ReadOnlySpan<byte> data)
    {
        _discard = Discard.Detection;
        var quad = 4 * _rawChannels;                  // one frame of a 4-byte encoding: what silence is emitted in
        var window = RoundUp(_options.DetectionBytes, quad);
        var max = Math.Max(window, RoundUp(_options.MaxDetectionBytes, quad));
        while (!data.IsEmpty)
        {
            if (!plan.SawSignal)
            {
                var signal = data.IndexOfAnyExcept((byte)0);
                plan.ZeroBytes += signal < 0 ? data.Length : signal;
                plan.SilentFrames = plan.ZeroBytes / quad;
                if (signal < 0) break;
                data = data[signal..];
                plan.SawSignal = true;
                var alignment = (int)(plan.ZeroBytes % quad);
                EnsureHead(alignment, max);
                _head.AsSpan(0, alignment).Clear();
                plan.HeadLength = alignment;
            }
            var target = plan.HeadLength < window ? window : Math.Min(max, (plan.HeadLength / window + 1) * window);
            var take = Math.Min(data.Length, target - plan.HeadLength);
            EnsureHead(plan.HeadLength + take, max);
            data[..take].CopyTo(_head.AsSpan(plan.HeadLength));
            plan.HeadLength += take;
            data = data[take..];
            if (plan.HeadLength < target) break;

            var detection = PcmFormatDetector.Detect(_head.AsSpan(0, plan.HeadLength), _rawChannels, final: plan.HeadLength >= max);
            if (detection.Verdict == DetectionVerdict.Implausible) throw new AudioFormatException(detection.Reason);
            if (detection.Verdict == DetectionVerdict.Decided || plan.HeadLength >= max)
            {
                _discard = Discard.Chunk;
                return Decide(plan, detection.Encoding, AudioFormatSource.Detected, data);
            }
        }
        return plan;
    }

    /// <summary>The encoding is known: the leading silence and the buffered bytes are decoded with it.</summary>
    private Plan Decide(Plan plan, PcmEncoding encoding, AudioFormatSource source, ReadOnlySpan<byte> rest)
    {
        var quad = 4 * _rawChannels;
        var silentBytes = plan.SawSignal ? plan.ZeroBytes - plan.ZeroBytes % quad : plan.ZeroBytes;
        var frameBytes = Pcm.BytesPerSample(encoding) * _rawChannels;
        plan.Stage = Stage.Streaming;
        plan.Format = new ResolvedAudioFormat(encoding, _rawRate, _rawChannels, source);
        plan.SilentFrames = silentBytes / frameBytes;
        plan.Dropped += plan.SawSignal ? 0 : silentBytes % frameBytes; // only at Flush: a partial silent frame
        plan.Audio1 = plan.SawSignal ? _head.AsSpan(0, plan.HeadLength) : [];
        plan.Audio2 = rest;
        plan.HeadLength = 0;
        return plan;
    }

    /// <summary>End of stream while detecting: decide with what there is.</summary>
    private Plan FinishDetection(Plan plan)
    {
        if (!plan.SawSignal) return Decide(plan, PcmEncoding.Int16, AudioFormatSource.Default, []);
        var detection = PcmFormatDetector.Detect(_head.AsSpan(0, plan.HeadLength), _rawChannels, final: true);
        if (detection.Verdict == DetectionVerdict.Decided)
            return Decide(plan, detection.Encoding, AudioFormatSource.Detected, []);
        plan.Dropped += plan.HeadLength - plan.ZeroBytes % (4 * _rawChannels);
        plan.HeadLength = 0;
        return plan;
    }

    private static ReadOnlySpan<byte> LimitToData(ReadOnlySpan<byte> bytes, scoped ref Plan plan)
    {
        if (plan.DataRemaining is not { } remaining) return bytes;
        if (bytes.Length <= remaining)
        {
            plan.DataRemaining = remaining - bytes.Length;
            return bytes;
        }
        plan.Dropped += bytes.Length - remaining;
        plan.DataRemaining = 0;
        return bytes[..(int)remaining];
    }

    /// <summary>float32 audio must be finite and within ±16 (the whole chunk is rejected otherwise).</summary>
    private void Validate(in Plan plan)
    {
        if (plan.Format?.Encoding != PcmEncoding.Float32) return;
        Span<byte> sample = stackalloc byte[4];
        var pending = _carryLength % 4;
        _carry.AsSpan(_carryLength - pending, pending).CopyTo(sample);
        long index = 0;
        CheckFloats(plan.Audio1, sample, ref pending, ref index);
        CheckFloats(plan.Audio2, sample, ref pending, ref index);
    }

    private static void CheckFloats(ReadOnlySpan<byte> data, Span<byte> sample, ref int pending, ref long index)
    {
        if (pending > 0)
        {
            var take = Math.Min(4 - pending, data.Length);
            data[..take].CopyTo(sample[pending..]);
            pending += take;
            data = data[take..];
            if (pending < 4) return;
            Check(BinaryPrimitives.ReadSingleLittleEndian(sample), index++);
            pending = 0;
        }
        var whole = data.Length / 4 * 4;
        if (BitConverter.IsLittleEndian)
        {
            var floats = MemoryMarshal.Cast<byte, float>(data[..whole]);
            for (var i = 0; i < floats.Length; i++)
                if (!(Math.Abs(floats[i]) <= 16f)) Check(floats[i], index + i);
        }
        else
            for (var i = 0; i < whole / 4; i++) Check(BinaryPrimitives.ReadSingleLittleEndian(data[(i * 4)..]), index + i);
        index += whole / 4;
        data[whole..].CopyTo(sample);
        pending = data.Length - whole;
    }

    private static void Check(float x, long index)
    {
        if (!(Math.Abs(x) <= 16f))
            throw new AudioFormatException(
                $"float32 sample {index} of the chunk is {x}: float32 audio must be finite and within ±16 (±1 nominal).");
    }

    private void Reject(int chunkLength)
    {
        BytesDropped += chunkLength;
        switch (_discard)
        {
            case Discard.WavHeader:
                BytesDropped += _headLength;
                _headLength = 0;
                _stage = Stage.Start;
                break;
            case Discard.Detection:
                var silence = _sawSignal ? (int)(_zeroBytes % (4 * _rawChannels)) : 0;
                BytesDropped += _headLength - silence;
                _headLength = 0;
                _sawSignal = false;
                _stage = _zeroBytes == 0 ? Stage.Start : Stage.Detecting;
                break;
        }
    }

    private void Commit(in Plan plan, IBufferWriter<float> output)
    {
        _stage = plan.Stage;
        _headLength = plan.HeadLength;
        _zeroBytes = plan.ZeroBytes;
        _sawSignal = plan.SawSignal;
        _dataRemaining = plan.DataRemaining;
        _format = plan.Format;
        BytesDropped += plan.Dropped;
        if (plan.Stage is Stage.Start) return;

        if (_resampler is null)
        {
            _resampler = new Resampler(plan.Format?.SampleRate ?? _rawRate, OutputRate) { ClampOutput = true };
            _mono = new float[MonoBlock];
        }
        if (plan.SilentFrames > _silentFrames)
        {
            EmitSilence(plan.SilentFrames - _silentFrames, output);
            _silentFrames = plan.SilentFrames;
        }
        if (!plan.Audio1.IsEmpty) Decode(plan.Audio1, output);
        if (!plan.Audio2.IsEmpty) Decode(plan.Audio2, output);
        if (plan.Stage == Stage.Streaming) _head = []; // the header / detection buffer is not needed any more
    }

    private void EmitSilence(long frames, IBufferWriter<float> output)
    {
        _mono.AsSpan().Clear();
        while (frames > 0)
        {
            var n = (int)Math.Min(frames, _mono.Length);
            _resampler!.Process(_mono.AsSpan(0, n), output);
            frames -= n;
        }
    }

    /// <summary>Decodes whole frames (carrying a partial one to the next call), downmixes and resamples them.</summary>
    private void Decode(ReadOnlySpan<byte> data, IBufferWriter<float> output)
    {
        var format = _format!;
        var frameBytes = format.FrameBytes;
        var mono = _mono;
        var n = 0;
        if (_carryLength > 0)
        {
            var take = Math.Min(frameBytes - _carryLength, data.Length);
            data[..take].CopyTo(_carry.AsSpan(_carryLength));
            _carryLength += take;
            data = data[take..];
            if (_carryLength < frameBytes) return;
            DecodeFrames(_carry.AsSpan(0, frameBytes), format.Encoding, format.Channels, mono.AsSpan(0, 1));
            _carryLength = 0;
            n = 1;
        }
        while (data.Length >= frameBytes)
        {
            var frames = Math.Min(data.Length / frameBytes, mono.Length - n);
            DecodeFrames(data[..(frames * frameBytes)], format.Encoding, format.Channels, mono.AsSpan(n, frames));
            n += frames;
            data = data[(frames * frameBytes)..];
            if (n == mono.Length)
            {
                _resampler!.Process(mono, output);
                n = 0;
            }
        }
        if (n > 0) _resampler!.Process(mono.AsSpan(0, n), output);
        data.CopyTo(_carry);
        _carryLength = data.Length;
    }

    /// <summary>Interleaved frames to mono floats (the average of the channels).</summary>
    private static void DecodeFrames(ReadOnlySpan<byte> bytes, PcmEncoding encoding, int channels, Span<float> mono)
    {
        if (!BitConverter.IsLittleEndian)
        {
            DecodeFramesPortable(bytes, encoding, channels, mono);
            return;
        }
        switch (encoding)
        {
            case PcmEncoding.Int16:
                Downmix(MemoryMarshal.Cast<byte, short>(bytes), channels, mono, 1f / 32768);
                break;
            case PcmEncoding.Int32:
                Downmix(MemoryMarshal.Cast<byte, int>(bytes), channels, mono, 1f / 2147483648f);
                break;
            default:
                Downmix(MemoryMarshal.Cast<byte, float>(bytes), channels, mono, 1f);
                break;
        }
    }

    private static void Downmix(ReadOnlySpan<short> s, int channels, Span<float> mono, float scale)
    {
        if (channels == 1)
        {
            for (var i = 0; i < mono.Length; i++) mono[i] = s[i] * scale;
            return;
        }
        scale /= channels;
        for (int i = 0, j = 0; i < mono.Length; i++)
        {
            var sum = 0;
            for (var c = 0; c < channels; c++) sum += s[j++];
            mono[i] = sum * scale;
        }
    }

    private static void Downmix(ReadOnlySpan<int> s, int channels, Span<float> mono, float scale)
    {
        if (channels == 1)
        {
            for (var i = 0; i < mono.Length; i++) mono[i] = s[i] * scale;
            return;
        }
        for (int i = 0, j = 0; i < mono.Length; i++)
        {
            long sum = 0;
            for (var c = 0; c < channels; c++) sum += s[j++];
            mono[i] = (float)((double)sum / channels) * scale;
        }
    }

    private static void Downmix(ReadOnlySpan<float> s, int channels, Span<float> mono, float scale)
    {
        if (channels == 1)
        {
            s[..mono.Length].CopyTo(mono);
            return;
        }
        for (int i = 0, j = 0; i < mono.Length; i++)
        {
            var sum = 0f;
            for (var c = 0; c < channels; c++) sum += s[j++];
            mono[i] = sum / channels * scale;
        }
    }

    private static void DecodeFramesPortable(ReadOnlySpan<byte> bytes, PcmEncoding encoding, int channels, Span<float> mono)
    {
        var width = Pcm.BytesPerSample(encoding);
        for (var i = 0; i < mono.Length; i++)
        {
            double sum = 0;
            for (var c = 0; c < channels; c++)
            {
                var at = bytes[((i * channels + c) * width)..];
                sum += encoding switch
                {
                    PcmEncoding.Int16 => BinaryPrimitives.ReadInt16LittleEndian(at) / 32768.0,
                    PcmEncoding.Int32 => BinaryPrimitives.ReadInt32LittleEndian(at) / 2147483648.0,
                    _ => BinaryPrimitives.ReadSingleLittleEndian(at),
                };
            }
            mono[i] = (float)(sum / channels);
        }
    }

    /// <summary>Grows the head buffer (keeping its bytes) geometrically, to at most <paramref name="cap"/>.</summary>
    private void EnsureHead(int size, int cap)
    {
        if (_head.Length >= size) return;
        Array.Resize(ref _head, Math.Min(cap, Math.Max(size, Math.Max(2 * _head.Length, 256))));
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
