using System.Runtime.InteropServices;

namespace VoiceAspire.Inference.Engines.PocketSphinx;

/// <summary>
/// Thin P/Invoke layer over the Debian PocketSphinx 0.8+5prealpha runtime (libpocketsphinx.so.3) and
/// SphinxBase (libsphinxbase.so.3, where cmd_ln_*, err_* and logmath_* live). Signatures follow
/// pocketsphinx.h / cmd_ln.h / err.h / logmath.h of that release (int32 is C int on x86-64 Linux).
/// The variadic <c>cmd_ln_init</c> is deliberately not bound: variadic calls are not portable through
/// P/Invoke; <see cref="SphinxConfigHandle"/> builds an argv for <c>cmd_ln_parse_r</c> instead.
/// </summary>
internal static unsafe partial class SphinxNative
{
    public const string PocketSphinxLibrary = "libpocketsphinx.so.3";
    public const string SphinxBaseLibrary = "libsphinxbase.so.3";

    /// <summary>Frames per second of the en-us front end (-frate default 100).</summary>
    public const int FramesPerSecond = 100;

    // ---- sphinxbase: configuration -------------------------------------------------------------

    /// <summary>
    /// cmd_ln_t *cmd_ln_parse_r(cmd_ln_t *inout, const arg_t *defn, int32 argc, char *argv[], int strict).
    /// The returned object keeps pointers into <paramref name="argv"/> (hash keys), so argv must outlive it.
    /// With an even argc every element is a name/value pair (argv[0] is only skipped when argc is odd).
    /// </summary>
    [LibraryImport(SphinxBaseLibrary, EntryPoint = "cmd_ln_parse_r")]
    public static partial nint cmd_ln_parse_r(nint inoutConfig, nint definitions, int argc, byte** argv, int strict);

    /// <summary>int cmd_ln_free_r(cmd_ln_t *); returns the new reference count (0 when freed).</summary>
    [LibraryImport(SphinxBaseLibrary, EntryPoint = "cmd_ln_free_r")]
    public static partial int cmd_ln_free_r(nint config);

    // ---- sphinxbase: logging (process-global state) --------------------------------------------

    /// <summary>void err_set_logfp(FILE *); NULL disables all SphinxBase/PocketSphinx logging.</summary>
    [LibraryImport(SphinxBaseLibrary, EntryPoint = "err_set_logfp")]
    public static partial void err_set_logfp(nint stream);

    /// <summary>int err_set_logfile(const char *path); appends to path, closes the previous log FILE (not stdout/stderr).</summary>
    [LibraryImport(SphinxBaseLibrary, EntryPoint = "err_set_logfile", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int err_set_logfile(string path);

    // ---- sphinxbase: logmath --------------------------------------------------------------------

    /// <summary>float64 logmath_exp(logmath_t *, int logb_p): integer log (decoder base) to linear.</summary>
    [LibraryImport(SphinxBaseLibrary, EntryPoint = "logmath_exp")]
    public static partial double logmath_exp(nint logmath, int logValue);

    /// <summary>void cmn_live_set(cmn_t *, mfcc_t const *vec): sets the live cepstral mean (and its running sum/count).</summary>
    [LibraryImport(SphinxBaseLibrary, EntryPoint = "cmn_live_set")]
    public static partial void cmn_live_set(nint cmn, float* mean);

    /// <summary>void cmn_live_get(cmn_t *, mfcc_t *vec): copies the live cepstral mean (mfcc_t is float: FIXED_POINT is off).</summary>
    [LibraryImport(SphinxBaseLibrary, EntryPoint = "cmn_live_get")]
    public static partial void cmn_live_get(nint cmn, float* mean);

    // ---- pocketsphinx: decoder lifetime ----------------------------------------------------------

    /// <summary>arg_t const *ps_args(void): the decoder's argument definitions (NULL-name terminated).</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_args")]
    public static partial nint ps_args();

    /// <summary>ps_decoder_t *ps_init(cmd_ln_t *config); retains config; NULL on failure.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_init")]
    public static partial nint ps_init(nint config);

    /// <summary>int ps_free(ps_decoder_t *); returns the new reference count.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_free")]
    public static partial int ps_free(nint decoder);

    /// <summary>logmath_t *ps_get_logmath(ps_decoder_t *); owned by the decoder.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_get_logmath")]
    public static partial nint ps_get_logmath(SphinxDecoderHandle decoder);

    /// <summary>feat_t *ps_get_feat(ps_decoder_t *); owned by the decoder.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_get_feat")]
    public static partial nint ps_get_feat(SphinxDecoderHandle decoder);

    // ---- pocketsphinx: decoding -------------------------------------------------------------------

    /// <summary>
    /// int ps_start_stream(ps_decoder_t *): a new audio stream. Resets the front end's channel state
    /// (noise level, VAD) and the frame counter: segment frames are stream-wide from then on.
    /// </summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_start_stream")]
    public static partial int ps_start_stream(SphinxDecoderHandle decoder);

    /// <summary>int ps_start_utt(ps_decoder_t *); 0 on success, &lt;0 on error.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_start_utt")]
    public static partial int ps_start_utt(SphinxDecoderHandle decoder);

    /// <summary>int ps_process_raw(ps_decoder_t *, int16 const *data, size_t n_samples, int no_search, int full_utt); frames searched or &lt;0.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_process_raw")]
    public static partial int ps_process_raw(SphinxDecoderHandle decoder, short* data, nuint sampleCount, int noSearch, int fullUtterance);

    /// <summary>int ps_end_utt(ps_decoder_t *); 0 on success, &lt;0 on error.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_end_utt")]
    public static partial int ps_end_utt(SphinxDecoderHandle decoder);

    /// <summary>uint8 ps_get_in_speech(ps_decoder_t *): 1 if the front end's VAD considers the last buffer speech.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_get_in_speech")]
    public static partial byte ps_get_in_speech(SphinxDecoderHandle decoder);

    /// <summary>int ps_get_n_frames(ps_decoder_t *): frames searched in the current utterance.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_get_n_frames")]
    public static partial int ps_get_n_frames(SphinxDecoderHandle decoder);

    /// <summary>char const *ps_get_hyp(ps_decoder_t *, int32 *out_best_score); owned by the decoder, NULL if none.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_get_hyp")]
    public static partial nint ps_get_hyp(SphinxDecoderHandle decoder, int* bestScore);

    /// <summary>int32 ps_get_prob(ps_decoder_t *): log posterior (decoder log base) of the best hypothesis; 0 when not computed.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_get_prob")]
    public static partial int ps_get_prob(SphinxDecoderHandle decoder);

    // ---- pocketsphinx: word segmentation ------------------------------------------------------------

    /// <summary>ps_seg_t *ps_seg_iter(ps_decoder_t *); NULL if no hypothesis.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_seg_iter")]
    public static partial nint ps_seg_iter(SphinxDecoderHandle decoder);

    /// <summary>ps_seg_t *ps_seg_next(ps_seg_t *); NULL at the end (the iterator is then freed).</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_seg_next")]
    public static partial nint ps_seg_next(nint segment);

    /// <summary>char const *ps_seg_word(ps_seg_t *); valid until the next ps_seg_next.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_seg_word")]
    public static partial nint ps_seg_word(nint segment);

    /// <summary>void ps_seg_frames(ps_seg_t *, int *out_sf, int *out_ef): inclusive frame range within the utterance.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_seg_frames")]
    public static partial void ps_seg_frames(nint segment, int* startFrame, int* endFrame);

    /// <summary>int32 ps_seg_prob(ps_seg_t *, int32 *ascr, int32 *lscr, int32 *lback): log posterior of the word.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_seg_prob")]
    public static partial int ps_seg_prob(nint segment, int* acousticScore, int* languageScore, int* languageBackoff);

    /// <summary>void ps_seg_free(ps_seg_t *): ends an iteration early.</summary>
    [LibraryImport(PocketSphinxLibrary, EntryPoint = "ps_seg_free")]
    public static partial void ps_seg_free(nint segment);

    /// <summary>
    /// arg_t from cmd_ln.h: { char const *name; int type; char const *deflt; char const *doc; }.
    /// Read only to list the argument names the decoder accepts.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ArgDefinition
    {
        public nint Name;
        public int Type;
        public nint Default;
        public nint Doc;
    }

    /// <summary>arg_t type bits (cmd_ln.h); the REQARG_* variants add ARG_REQUIRED (1).</summary>
    public const int ArgInteger = 1 << 1, ArgFloating = 1 << 2, ArgString = 1 << 3, ArgBoolean = 1 << 4, ArgStringList = 1 << 5;

    /// <summary>Every argument ps_args() defines (e.g. "-maxhmmpf", "-ds", "-vad_threshold") with its arg_t type bits.</summary>
    public static Dictionary<string, int> DecoderArguments()
    {
        var arguments = new Dictionary<string, int>(StringComparer.Ordinal);
        var definitions = (ArgDefinition*)ps_args();
        for (var i = 0; definitions is not null && definitions[i].Name != 0; i++)
        {
            var name = Marshal.PtrToStringUTF8(definitions[i].Name);
            if (name is not null) arguments[name] = definitions[i].Type;
        }
        return arguments;
    }
}
