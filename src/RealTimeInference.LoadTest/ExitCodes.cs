namespace RealTimeInference.LoadTest;

internal static class ExitCodes
{
    public const int Success = 0;
    public const int Usage = 1;
    public const int Unreachable = 2;
    public const int NoSuccessfulResponses = 3;
    public const int Cancelled = 130;
}
