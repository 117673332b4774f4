namespace RealTimeInference.Server.Tests.Wafers;

/// <summary>The server with small wafer limits, so oversized bodies and frames are cheap to send.</summary>
public sealed class WaferLimitsFixture : ServerFixture
{
    public const int MaxImageBytes = 64 * 1024;
    public const int MaxMultipartBytes = 128 * 1024;
    public const int MaxFrameMessageBytes = 128 * 1024;
    public const int MaxImagesPerRequest = 4;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Wafer:MaxImageBytes", MaxImageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Wafer:MaxMultipartBytes", MaxMultipartBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Wafer:MaxFrameMessageBytes", MaxFrameMessageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Wafer:MaxImagesPerRequest", MaxImagesPerRequest.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];
}
