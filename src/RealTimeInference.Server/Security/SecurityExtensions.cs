using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using RealTimeInference.Inference;
using RealTimeInference.Server.Health;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Security;

internal static partial class SecurityExtensions
{
    /// <summary>
    /// The options, the ApiKey scheme (with keys) and the JWT bearer scheme (with <c>Security:Jwt</c>),
    /// one policy per role, 401 and 403 as problems, and the security mode on /health/ready. Neither
    /// scheme is the default: only the endpoints that ask for a role authenticate, so an open server's
    /// requests pay nothing for it.
    /// </summary>
    public static IServiceCollection AddSecurity(this IServiceCollection services)
    {
        services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SecurityOptions>, SecurityOptionsValidator>();
        services.AddSingleton<ApiKeyDigests>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ProblemAuthorizationResults>();
        services.AddHealthChecks().AddCheck<SecurityCheck>("security", tags: [HealthEndpoints.ReadyTag]);
        services.AddHostedService<SecurityNotice>();
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null)
            .AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<IOptions<SecurityOptions>>((bearer, security) =>
        {
            var jwt = security.Value.Jwt;
            bearer.MapInboundClaims = false;
            bearer.Authority = string.IsNullOrEmpty(jwt.Authority) ? null : jwt.Authority;
            bearer.Audience = jwt.Audience;
            bearer.TokenValidationParameters = new TokenValidationParameters
            {
                ValidateIssuer = !string.IsNullOrEmpty(jwt.Issuer) || bearer.Authority is not null,
                ValidIssuer = jwt.Issuer,
                ValidateAudience = !string.IsNullOrEmpty(jwt.Audience),
                ValidAudience = jwt.Audience,
                ValidateLifetime = true,
                RequireExpirationTime = true,
                IssuerSigningKey = string.IsNullOrEmpty(jwt.SigningKey) ? null : new SymmetricSecurityKey(Encoding.UTF8.GetBytes(jwt.SigningKey)),
                RoleClaimType = jwt.RoleClaim,
                NameClaimType = jwt.NameClaim,
            };
        });
        services.AddAuthorization();
        services.AddOptions<AuthorizationOptions>().Configure<IOptions<SecurityOptions>>((authorization, security) =>
        {
            string[] schemes =
            [
                .. security.Value.Jwt.IsConfigured ? [JwtBearerDefaults.AuthenticationScheme] : Array.Empty<string>(),
                .. security.Value.ApiKeys.Count > 0 ? [ApiKeyHandler.SchemeName] : Array.Empty<string>(),
            ];
            foreach (var role in Roles.All)
            {
                authorization.AddPolicy(role, policy => policy.AddAuthenticationSchemes(schemes).RequireAuthenticatedUser().RequireRole(Roles.Holding(role)));
            }
        });
        return services;
    }

    /// <summary>Says once at start whether the server is open or how it is secured.</summary>
    private sealed partial class SecurityNotice(IOptions<SecurityOptions> options, ILogger<SecurityNotice> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            var security = options.Value;
            if (security.IsOpen)
            {
                LogOpen(logger);
            }
            else
            {
                LogRoles(logger, security.ApiKeys.Count, security.Jwt.IsConfigured);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(EventId = LogEvents.SecurityOpen, Level = LogLevel.Warning, Message = "Security: no API keys and no JWT configured: the server is open, every caller may read, send and steer (Security:ApiKeys or Security:Jwt to ask for roles)")]
        private static partial void LogOpen(ILogger logger);

        [LoggerMessage(EventId = LogEvents.SecurityRoles, Level = LogLevel.Information, Message = "Security: roles asked for on every endpoint but health; {Keys} API key(s), JWT bearer tokens {Jwt}")]
        private static partial void LogRoles(ILogger logger, int keys, bool jwt);
    }

    /// <summary>/health/ready's word on it: open, or how callers authenticate.</summary>
    private sealed class SecurityCheck(IOptions<SecurityOptions> options) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var security = options.Value;
            var data = new Dictionary<string, object>
            {
                ["mode"] = security.IsOpen ? "open" : "roles",
                ["api_keys"] = security.ApiKeys.Count,
                ["jwt"] = security.Jwt.IsConfigured,
            };
            return Task.FromResult(HealthCheckResult.Healthy(
                security.IsOpen ? "Open: no API keys or JWT configured; every caller may read, send and steer." : "Roles asked for on every endpoint but health.", data));
        }
    }

    /// <summary>401 and 403 as RFC 9457 problems naming what is missing (gRPC callers get the status alone, as their protocol maps it).</summary>
    private sealed class ProblemAuthorizationResults(IProblemDetailsService problems) : IAuthorizationMiddlewareResultHandler
    {
        private readonly AuthorizationMiddlewareResultHandler _default = new();

        public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            if (authorizeResult.Succeeded || context.Response.HasStarted || context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
            {
                return;
            }

            var roles = string.Join(" or ", policy.Requirements.OfType<RolesAuthorizationRequirement>().SelectMany(r => r.AllowedRoles));
            await problems.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = authorizeResult.Forbidden
                    ? new() { Status = StatusCodes.Status403Forbidden, Title = "Role required", Detail = $"{ClientIdentity.Of(context)} may not do this: it takes the role {roles}." }
                    : new() { Status = StatusCodes.Status401Unauthorized, Title = "Authentication required", Detail = $"Send a valid API key in the {ApiKeyHandler.Header} header or a bearer token (role {roles})." },
            });
        }
    }
}
