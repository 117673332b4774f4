using RealTimeInference.Fab.Wafers;

namespace RealTimeInference.Server.Tests.Wafers;

/// <summary>Generated wafer images for requests: the same generator and renderer the model was trained on.</summary>
internal static class WaferImages
{
    public static byte[] Png(WaferPattern pattern, int seed = 1, int size = 64) =>
        WaferMapRenderer.Render(new WaferMapGenerator(seed).Next(pattern), size);

    public static byte[] Jpeg(WaferPattern pattern, int seed = 1, int size = 64) =>
        WaferMapRenderer.Render(new WaferMapGenerator(seed).Next(pattern), size, WaferImageFormat.Jpeg);
}
