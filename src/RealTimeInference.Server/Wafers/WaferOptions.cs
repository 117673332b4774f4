using RealTimeInference.Fab.Wafers;

namespace RealTimeInference.Server.Wafers;

public sealed class WaferOptions
{
    public const string Section = "Wafer";

    /// <summary>The model that classifies wafer images.</summary>
    public string Model { get; set; } = "wafer-defect";

    /// <summary>Largest raw image body of /predict-wafer, in bytes (413 above it).</summary>
    public long MaxImageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest multipart body of /predict-wafer, in bytes (413 above it).</summary>
    public long MaxMultipartBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Most images one multipart request may carry (413 above it).</summary>
    public int MaxImagesPerRequest { get; set; } = 256;

    /// <summary>
    /// Most pixels an image header may declare; larger images are refused before any pixel is
    /// decoded (a decompression-bomb guard). Default 4096 × 4096.
    /// </summary>
    public long MaxImagePixels { get; set; } = ImagePreprocessor.DefaultMaxPixels;

    /// <summary>
    /// Most pixels the images of one request may declare in all (their headers are read first):
    /// past it the request gets 413 before any is decoded. Default four 4096 × 4096 images.
    /// </summary>
    public long MaxRequestPixels { get; set; } = 4 * ImagePreprocessor.DefaultMaxPixels;

    /// <summary>Requests that decode images at once; the others wait (within their deadline), so decoding leaves cores to /predict. Default half the cores, at least one.</summary>
    public int MaxConcurrentDecodes { get; set; } = Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Largest WebSocket message of /ws/webcam, in bytes (a base64 frame is 4/3 of the image).</summary>
    public int MaxFrameMessageBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// Frames in a row on one <c>/ws/webcam</c> station that are no wafer (422 not_a_wafer) or the same
    /// bytes as the one before (a frozen camera) before they count against the camera: the alert rules
    /// (Alerts:FireAnomalies of Alerts:Window) then open a <c>camera</c> alert for the station.
    /// </summary>
    public int CameraFaultFrames { get; set; } = 10;

    /// <summary>Retry-After, in seconds, sent with 503.</summary>
    public int RetryAfterSeconds { get; set; } = 1;
}
