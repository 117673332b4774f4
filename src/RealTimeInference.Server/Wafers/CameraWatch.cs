using System.Security.Cryptography;
using RealTimeInference.Inference.Scheduling;
using RealTimeInference.Results.Alerts;

namespace RealTimeInference.Server.Wafers;

/// <summary>
/// One <c>/ws/webcam</c> station's camera: frames that are no wafer, or the same bytes again and again
/// (a frozen feed), are a camera fault once <see cref="WaferOptions.CameraFaultFrames"/> come in a row.
/// Every frame goes to the alert rules as the station's <c>camera</c> sensor (faulty or not), so a
/// fault opens one <c>camera</c> alert for the station, and good frames resolve it.
/// </summary>
internal sealed class CameraWatch(AlertBook alerts, string station, int faultFrames, TimeProvider time)
{
    /// <summary>The alert's sensor and model: what raised it.</summary>
    public const string Camera = "camera";

    private readonly byte[] _last = new byte[SHA256.HashSizeInBytes];
    private bool _seen;
    private int _streak;

    public string Station => station;

    /// <summary>Takes one frame that decoded: <paramref name="refused"/> when it was no wafer.</summary>
    public void Observe(ReadOnlySpan<byte> frame, bool refused)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(frame, hash);
        var frozen = _seen && hash.SequenceEqual(_last);
        hash.CopyTo(_last);
        _seen = true;
        _streak = refused || frozen ? _streak + 1 : 0;
        var faulty = _streak >= faultFrames;
        alerts.Observe(station, Camera, Camera, faulty ? 1 : 0, faulty, LatencyClass.DefectDetection, time.GetUtcNow());
    }
}
