//! `template.yaml`, the dev server's path table and the emulator's router
//! describe one API: these tests fail when they drift apart.

use std::collections::{BTreeMap, BTreeSet};

use phone_auth::adapters::dynamodb::schema::TEMPLATE;
use phone_auth::adapters::emf::NAMESPACE;
use phone_auth::config::CONTRACT_SETTINGS;
use phone_auth::domain::metric::NAMES;
use phone_auth::http::routes::ROUTES;
use serde_norway::Value;

fn template() -> Value {
    serde_norway::from_str(TEMPLATE).expect("template.yaml is YAML")
}

/// The template's functions, each with the binary it deploys (every one is
/// built by cargo-lambda).
fn functions(doc: &Value) -> Vec<(String, &Value)> {
    doc["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|r| {
            let metadata = &r["Metadata"];
            assert_eq!(metadata["BuildMethod"].as_str(), Some("rust-cargolambda"));
            let binary = metadata["BuildProperties"]["Binary"].as_str().unwrap();
            (binary.to_owned(), r)
        })
        .collect()
}

/// (function binary, path) for every HttpApi event of the template.
fn template_routes() -> BTreeSet<(String, String)> {
    let doc = template();
    let mut routes = BTreeSet::new();
    for (binary, resource) in functions(&doc) {
        // The key-making custom resource's function has no events.
        let events = resource["Properties"]["Events"].as_mapping();
        for (_, event) in events.into_iter().flatten() {
            // The users table's stream, SNS's delivery logs: no route.
            if matches!(event["Type"].as_str(), Some("DynamoDB" | "CloudWatchLogs")) {
                continue;
            }
            assert_eq!(event["Type"].as_str(), Some("HttpApi"));
            assert_eq!(
                event["Properties"]["Method"].as_str(),
                Some("ANY"),
                "functions answer 405 themselves"
            );
            routes.insert((
                binary.clone(),
                event["Properties"]["Path"].as_str().unwrap().to_owned(),
            ));
        }
    }
    routes
}

/// What the path table says the routes must be, with and without the
/// trailing slash.
fn table_routes() -> BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .flat_map(|r| {
            [
                (r.function.to_owned(), r.path.to_owned()),
                (r.function.to_owned(), format!("{}/", r.path)),
            ]
        })
        .collect()
}

#[test]
fn the_template_routes_every_path_of_the_table_and_no_other() {
    let mut expected = table_routes();
    // Unknown paths reach a function, which answers a problem+json 404.
    expected.insert(("phone-enter".into(), "$default".into()));
    assert_eq!(template_routes(), expected);
}

#[test]
fn every_function_crate_is_deployed() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
    // Each directory is a crate; functions/build.rs is their shared script.
    let crates: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let doc = template();
    let deployed: BTreeSet<String> = functions(&doc).into_iter().map(|(b, _)| b).collect();
    // Every HTTP function is routed; the one on the users table's stream
    // and the custom resource's are not.
    let mut routed: BTreeSet<String> = ROUTES.iter().map(|r| r.function.to_owned()).collect();
    routed.insert("account-cleanup".into());
    routed.insert("signing-key".into());
    routed.insert("sms-delivery".into());
    routed.insert("user-events".into());
    assert_eq!(crates, deployed);
    assert_eq!(crates, routed);
}

/// What deploys is what is measured: `sam build` builds each function with
/// `cargo lambda build --release --arm64 --bin <Binary>` at the workspace
/// root, which resolves features over the default members. Those are the
/// deployed functions exactly (no dev server, bench or tests features in a
/// bootstrap), and `make build` and `make bench` build the default members
/// as they are: one resolution, one set of binaries.
#[test]
fn make_build_and_the_bench_build_what_sam_build_deploys() {
    let manifest: toml::Value = toml::from_str(include_str!("../Cargo.toml")).unwrap();
    let members: BTreeSet<String> = manifest["workspace"]["default-members"]
        .as_array()
        .expect("the workspace names its default members")
        .iter()
        .map(|m| {
            m.as_str()
                .unwrap()
                .trim_start_matches("functions/")
                .to_owned()
        })
        .collect();
    let doc = template();
    let deployed: BTreeSet<String> = functions(&doc)
        .into_iter()
        .map(|(binary, r)| {
            // Only the binary: sam passes no flags of ours to cargo lambda.
            let properties = r["Metadata"]["BuildProperties"].as_mapping().unwrap();
            assert_eq!(properties.len(), 1, "{properties:?}");
            assert_eq!(tagged_ref(&r["Properties"]["CodeUri"]), None);
            assert_eq!(r["Properties"]["CodeUri"].as_str(), Some("."));
            binary
        })
        .collect();
    assert_eq!(members, deployed);
    let script = |name: &str| {
        let path = format!("{}/../scripts/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).unwrap()
    };
    let builds = |text: &str, command: &str| {
        text.lines()
            .map(str::trim)
            .filter(|line| line.starts_with(command))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        builds(&script("build.sh"), "cargo lambda build"),
        ["cargo lambda build --release --locked \"$target_flag\""],
        "make build: the default members, as they are"
    );
    assert_eq!(
        builds(&script("bench.sh"), "cargo build"),
        [
            "cargo build --release --locked",
            "cargo build --release --locked -p bench"
        ],
        "make bench: the default members, then the bench itself"
    );
}

#[test]
fn the_emulator_routes_like_the_template() {
    let manifest: toml::Value = toml::from_str(include_str!("../Cargo.toml")).unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .unwrap();
    let mut routes: BTreeSet<(String, String)> = router
        .iter()
        .map(|(path, function)| (function.as_str().unwrap().to_owned(), path.clone()))
        .collect();
    // The template's $default: every path the table does not serve.
    let default = template_routes()
        .into_iter()
        .find(|(_, path)| path == "$default")
        .map(|(function, _)| function)
        .expect("the template has a $default route");
    for catch_all in ["/", "/{*path}"] {
        assert!(
            routes.remove(&(default.clone(), catch_all.to_owned())),
            "the emulator sends {catch_all:?} to {default}, as the stack's $default"
        );
    }
    assert_eq!(routes, table_routes());
}

#[test]
fn every_setting_is_a_parameter_passed_to_the_functions() {
    let doc = template();
    let env = doc["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap();
    let parameters = doc["Parameters"].as_mapping().unwrap();
    for setting in CONTRACT_SETTINGS {
        let value = env
            .get(setting)
            .unwrap_or_else(|| panic!("{setting} is not passed to the functions"));
        let Value::Tagged(tagged) = value else {
            panic!("{setting} is not !Ref to a parameter")
        };
        assert_eq!(tagged.tag.to_string(), "!Ref");
        let parameter = tagged.value.as_str().unwrap();
        assert!(
            parameters.contains_key(parameter),
            "{setting}: no parameter {parameter}"
        );
    }
    for plain in [
        "JWT_SIGNING_KEY",
        "CODE_HASH_SECRET",
        "JWT_PREVIOUS_SIGNING_KEY",
        "TEST_PHONE_CODES",
    ] {
        assert!(
            !env.contains_key(plain),
            "{plain} must come from Secrets Manager, not the environment"
        );
    }
}

/// Parameter defaults are the contract's defaults, which are the code's.
#[test]
fn parameter_defaults_are_the_code_s_defaults() {
    let doc = template();
    let env = doc["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap();
    let parameters = &doc["Parameters"];
    let mut values = std::collections::HashMap::new();
    for setting in CONTRACT_SETTINGS {
        let Value::Tagged(tagged) = &env[setting] else {
            unreachable!()
        };
        let default = &parameters[tagged.value.as_str().unwrap()]["Default"];
        let text = match default {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            other => panic!("{setting}: default {other:?}"),
        };
        values.insert(setting.to_owned(), text);
    }
    for (k, v) in [
        ("JWT_KEY_ID", "k"),
        ("JWT_SIGNING_KEY", "0123456789abcdef0123456789abcdef"),
        ("JWT_ISSUER", "https://auth.example.com"),
        ("CODE_HASH_SECRET", "0123456789abcdef0123456789abcdef"),
    ] {
        values.insert(k.to_owned(), v.to_owned());
    }
    let from_template = phone_auth::config::Settings::from_map(values)
        .config()
        .unwrap();
    let from_code = api_tests::config(&[]);
    assert_eq!(
        format!("{:?}", strip(&from_template)),
        format!("{:?}", strip(&from_code))
    );
}

/// A config's settings without its keys, to compare two configs.
fn strip(config: &phone_auth::config::Config) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        (
            "default_region",
            format!("{:?}", config.rules.phones.default_region),
        ),
        (
            "allowed_regions",
            format!("{:?}", config.rules.phones.allowed_regions),
        ),
        ("code_length", config.rules.codes.length.to_string()),
        ("code_ttl_secs", config.rules.codes.ttl_secs.to_string()),
        (
            "max_code_attempts",
            config.rules.codes.max_attempts.to_string(),
        ),
        (
            "require_verification_id",
            config.rules.codes.require_verification_id.to_string(),
        ),
        (
            "ip_max_failed_codes_per_hour",
            config.rules.codes.ip_max_failed_codes_per_hour.to_string(),
        ),
        (
            "resend_cooldown_secs",
            config.rules.limits.resend_cooldown_secs.to_string(),
        ),
        (
            "phone_max_sends_per_hour",
            config.rules.limits.phone_max_sends_per_hour.to_string(),
        ),
        (
            "ip_max_sends_per_hour",
            config.rules.limits.ip_max_sends_per_hour.to_string(),
        ),
        (
            "sms_daily_budget",
            config.rules.limits.sms_daily_budget.to_string(),
        ),
        (
            "access_ttl_secs",
            config.rules.sessions.access_ttl_secs.to_string(),
        ),
        (
            "refresh_ttl_secs",
            config.rules.sessions.refresh_ttl_secs.to_string(),
        ),
        (
            "refresh_reuse_grace_secs",
            config.rules.sessions.refresh_reuse_grace_secs.to_string(),
        ),
        (
            "country_daily_budgets",
            format!("{:?}", config.rules.limits.country_daily_budgets),
        ),
        ("sms_text", format!("{:?}", config.rules.sms_text)),
        ("sms_sending", format!("{:?}", config.sms_sending)),
        ("test_phones", format!("{:?}", config.rules.test_phones)),
    ])
}

/// The secrets a function's policy lets it read: each `!Ref` among the
/// resources of its `GetSecretValue` statements, conditional ones included.
fn secrets_read(function: &Value) -> BTreeSet<String> {
    fn refs(value: &Value, into: &mut BTreeSet<String>) {
        match value {
            Value::Tagged(tagged) if tagged.tag == "!Ref" => {
                if let Some(name) = tagged.value.as_str().filter(|n| !n.starts_with("AWS::")) {
                    into.insert(name.to_owned());
                }
            }
            Value::Tagged(tagged) => refs(&tagged.value, into),
            Value::Sequence(items) => items.iter().for_each(|item| refs(item, into)),
            _ => {}
        }
    }
    let mut read = BTreeSet::new();
    for statement in function["Properties"]["Policies"][0]["Statement"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let action = &statement["Action"];
        let gets = action.as_str() == Some("secretsmanager:GetSecretValue")
            || action.as_sequence().is_some_and(|a| {
                a.iter()
                    .any(|a| a.as_str() == Some("secretsmanager:GetSecretValue"))
            });
        if gets {
            refs(&statement["Resource"], &mut read);
        }
    }
    read
}

/// Least privilege: each function reads only the secrets its endpoint
/// uses (the code says which), is given their ARNs and no other, the JWKS
/// function none at all (it publishes the public keys SigningKey reports),
/// and SMS reach phone numbers only, never a topic. The review codes sit
/// in a secret, not in any function's environment.
#[test]
fn each_function_reads_only_the_secrets_it_uses() {
    use phone_auth::http::routes::Endpoint;
    let doc = template();
    let resources = &doc["Resources"];
    let review = "TestPhoneCodesSecret";
    for (function, endpoint) in [
        ("PhoneEnterFunction", Endpoint::PhoneEnter),
        ("CodeEnterFunction", Endpoint::CodeEnter),
        ("UserProfileFunction", Endpoint::Profile),
        ("TokenRefreshFunction", Endpoint::TokenRefresh),
        ("TokenRevokeFunction", Endpoint::TokenRevoke),
        ("WellKnownFunction", Endpoint::WellKnown),
        ("AdminFunction", Endpoint::Admin),
        ("PhoneChangeFunction", Endpoint::PhoneChange),
    ] {
        let mut expected = BTreeSet::new();
        if endpoint.uses_token_keys() {
            expected.insert("JwtKeySecret".to_owned());
        }
        if endpoint.uses_code_hash() {
            // Codes are checked where the code-hash secret is read: the
            // review numbers' codes go with it.
            expected.insert("CodeHashSecret".to_owned());
            expected.insert(review.to_owned());
        }
        if endpoint == Endpoint::TokenRefresh {
            expected.insert("LegacyJwtKeySecret".to_owned());
        }
        if endpoint.sends_sms() {
            // Only a send checks a Turnstile token or signs a webhook.
            expected.insert("CaptchaSecret".to_owned());
            expected.insert("SmsWebhookSecret".to_owned());
        }
        let resource = &resources[function];
        assert_eq!(secrets_read(resource), expected, "{function}'s policy");
        // Start-up opens the connection to DynamoDB, where every answer but
        // a refusal uses it, with a call that reads nothing and no more.
        let describes = resource["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .into_iter()
            .flatten()
            .any(|s| {
                s["Action"].as_str() == Some("dynamodb:DescribeEndpoints")
                    && s["Resource"].as_str() == Some("*")
            });
        assert_eq!(
            describes,
            endpoint.uses_store(),
            "{function}: DescribeEndpoints"
        );
        // The ARNs it is given are the ones it may read.
        let env = &resource["Properties"]["Environment"]["Variables"];
        let mut given = BTreeSet::new();
        for (name, value) in env.as_mapping().into_iter().flatten() {
            if name.as_str().is_some_and(|n| n.ends_with("_SECRET_ARN")) {
                let secret = match value {
                    Value::Tagged(t) if t.tag == "!If" => tagged_ref(&t.value[1]),
                    other => tagged_ref(other),
                };
                given.insert(secret.expect("a secret's ARN").to_owned());
            }
        }
        assert_eq!(given, expected, "{function}'s environment");
    }
    for (name, resource) in resources.as_mapping().unwrap() {
        let statements = resource["Properties"]["Policies"][0]["Statement"].as_sequence();
        for statement in statements.into_iter().flatten() {
            if statement["Action"].as_str() == Some("sns:Publish") {
                assert_eq!(statement["Resource"], Value::Null, "{name:?}");
                assert_eq!(
                    statement["NotResource"].as_str(),
                    Some("arn:aws:sns:*:*:*"),
                    "{name:?}: phone numbers only"
                );
            }
        }
        let env = &resource["Properties"]["Environment"]["Variables"];
        assert_eq!(env["TEST_PHONE_CODES"], Value::Null, "{name:?}");
    }
    let secret = &resources[review];
    assert_eq!(secret["Condition"].as_str(), Some("HasTestPhones"));
    assert_eq!(
        tagged_ref(&secret["Properties"]["SecretString"]),
        Some("TestPhoneCodes")
    );
    let well_known = &resources["WellKnownFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(well_known["JWT_PRIVATE_KEY"], Value::Null);
    assert!(format!("{:?}", well_known["JWT_PUBLIC_KEY"]).contains("SigningKey.PublicKey"));
}

fn tagged_ref(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "!Ref" => tagged.value.as_str(),
        _ => None,
    }
}

/// The text of a `!Sub`, or `None`.
fn sub(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "!Sub" => tagged.value.as_str(),
        _ => None,
    }
}

/// Issuer, authorizer and key-making resource: the JWT authorizer checks
/// the `iss` the functions write, and every function that reads the keys
/// starts after the RSA key is in the secret.
#[test]
fn the_jwt_authorizer_trusts_the_issuer_the_functions_sign_as() {
    let doc = template();
    let env = &doc["Globals"]["Function"]["Environment"]["Variables"];
    let issuer = sub(&env["JWT_ISSUER"]).expect("JWT_ISSUER is the API's URL");
    assert_eq!(
        issuer,
        "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    );
    assert_eq!(sub(&doc["Outputs"]["ApiUrl"]["Value"]), Some(issuer));

    let authorizer = &doc["Resources"]["JwtAuthorizer"];
    assert_eq!(
        authorizer["Type"].as_str(),
        Some("AWS::ApiGatewayV2::Authorizer")
    );
    assert_eq!(authorizer["Condition"].as_str(), Some("Rs256"), "RSA only");
    let properties = &authorizer["Properties"];
    assert_eq!(properties["AuthorizerType"].as_str(), Some("JWT"));
    assert_eq!(tagged_ref(&properties["ApiId"]), Some("Api"));
    assert_eq!(sub(&properties["JwtConfiguration"]["Issuer"]), Some(issuer));
    assert_eq!(
        tagged_ref(&doc["Outputs"]["JwtAuthorizerId"]["Value"]),
        Some("JwtAuthorizer")
    );
    // The authorizer's audience and the tokens' are one expression.
    let audience = &properties["JwtConfiguration"]["Audience"][0];
    let Value::Tagged(token_audience) = &env["JWT_AUDIENCE"] else {
        panic!("JWT_AUDIENCE is an !If")
    };
    let Value::Tagged(authorizer_audience) = audience else {
        panic!("the authorizer's audience is an !If")
    };
    // Set: the parameter, for both. Unset: under RS256 (the only case the
    // authorizer exists) the tokens' fallback is the authorizer's.
    assert_eq!(token_audience.value[1], authorizer_audience.value[1]);
    let Value::Tagged(under_rs256) = &token_audience.value[2] else {
        panic!("JWT_AUDIENCE's fallback is an !If on Rs256")
    };
    assert_eq!(under_rs256.value[0].as_str(), Some("Rs256"));
    assert_eq!(under_rs256.value[1], authorizer_audience.value[2]);

    let key = &doc["Resources"]["SigningKey"]["Properties"];
    assert_eq!(tagged_ref(&key["SecretId"]), Some("JwtKeySecret"));
    assert_eq!(tagged_ref(&key["Generation"]), Some("JwtKeyGeneration"));
    for (name, resource) in doc["Resources"].as_mapping().unwrap() {
        // The key-maker writes the secret SigningKey waits on.
        let reads_keys = secrets_read(resource).contains("JwtKeySecret")
            && name.as_str() != Some("SigningKeyFunction");
        if reads_keys {
            assert_eq!(
                resource["DependsOn"].as_str(),
                Some("SigningKey"),
                "{name:?}"
            );
        }
    }
    let well_known = &doc["Resources"]["WellKnownFunction"]["Properties"]["Policies"];
    assert!(
        !format!("{well_known:?}").contains("dynamodb:"),
        "the well-known documents need no table"
    );
}

#[test]
fn the_stage_throttles_by_its_parameters() {
    let doc = template();
    let settings = &doc["Resources"]["Api"]["Properties"]["DefaultRouteSettings"];
    for (setting, parameter) in [
        ("ThrottlingBurstLimit", "ThrottlingBurstLimit"),
        ("ThrottlingRateLimit", "ThrottlingRateLimit"),
    ] {
        assert_eq!(tagged_ref(&settings[setting]), Some(parameter), "{setting}");
        let default = doc["Parameters"][parameter]["Default"].as_u64();
        assert!(default.is_some_and(|d| d > 0), "{parameter} has no default");
    }
    let burst = doc["Parameters"]["ThrottlingBurstLimit"]["Default"].as_u64();
    let rate = doc["Parameters"]["ThrottlingRateLimit"]["Default"].as_u64();
    assert!(burst >= rate, "a burst smaller than the rate never fills");
}

/// The alarms and the dashboard read the metrics the functions write: the
/// namespace, the names and the `Stack` dimension they carry.
#[test]
fn the_alarms_and_the_dashboard_read_the_metrics_the_functions_write() {
    let doc = template();
    let env = &doc["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(tagged_ref(&env["METRICS_STACK"]), Some("AWS::StackName"));
    // Rates, not counts: each alarm divides one metric by another in
    // metric math, so a busy day does not page.
    for (alarm, ours) in [
        ("SmsFailuresAlarm", &["SmsFailures", "CodesSent"][..]),
        ("SuspectedPumpingAlarm", &["SuspectedPumping", "CodesSent"]),
        ("RefreshReuseAlarm", &["RefreshReuse"]),
        ("ServerErrorsAlarm", &[]),
    ] {
        let properties = &doc["Resources"][alarm]["Properties"];
        let metrics = properties["Metrics"].as_sequence().expect("metric math");
        let mut read = Vec::new();
        for metric in metrics {
            let stat = &metric["MetricStat"]["Metric"];
            if stat["Namespace"].as_str() != Some(NAMESPACE) {
                continue;
            }
            let name = stat["MetricName"].as_str().unwrap();
            assert!(NAMES.contains(&name), "{alarm}: {name}");
            let dimension = &stat["Dimensions"][0];
            assert_eq!(dimension["Name"].as_str(), Some("Stack"), "{alarm}");
            assert_eq!(tagged_ref(&dimension["Value"]), Some("AWS::StackName"));
            read.push(name);
        }
        assert_eq!(read, ours, "{alarm}");
        let returned: Vec<_> = metrics
            .iter()
            .filter(|m| m["ReturnData"].as_bool() == Some(true))
            .collect();
        assert_eq!(returned.len(), 1, "{alarm}: one expression is the rate");
        let expression = returned[0]["Expression"].as_str().unwrap();
        assert!(expression.contains("100 *"), "{alarm}: {expression}");
        assert_eq!(
            tagged_ref(&properties["AlarmActions"][0]),
            Some("AlarmTopic")
        );
        let threshold = tagged_ref(&properties["Threshold"]).expect("a parameter");
        assert!(threshold.ends_with("Percent"), "{alarm}: {threshold}");
        assert!(doc["Parameters"][threshold]["MaxValue"].as_u64() == Some(100));
    }

    let Value::Tagged(body) = &doc["Resources"]["Dashboard"]["Properties"]["DashboardBody"] else {
        panic!("the dashboard body is a !Sub")
    };
    assert_eq!(body.tag, "!Sub");
    // The !Sub's text and its variables: the delivery function's log
    // source, where the stack has that function.
    let body_text = body.value[0].as_str().unwrap().to_owned();
    let variables = body.value[1].as_mapping().unwrap();
    let Value::Tagged(delivery_logs) = &variables["DeliveryLogs"] else {
        panic!("DeliveryLogs is an !If")
    };
    assert_eq!(delivery_logs.value[0].as_str(), Some("LogsSmsDelivery"));
    let Value::Tagged(source) = &delivery_logs.value[1] else {
        panic!("the source is a !Sub")
    };
    assert_eq!(
        source.value.as_str(),
        Some("| SOURCE '/aws/lambda/${SmsDeliveryFunction}' ")
    );
    // Each `${...}` of the !Sub stands for a plain string.
    let mut text = body_text.clone();
    while let Some(start) = text.find("${") {
        let end = start + text[start..].find('}').unwrap();
        let name = &text[start + 2..end];
        let type_of = |resource: &str| doc["Resources"][resource]["Type"].as_str();
        assert!(
            ["AWS::StackName", "AWS::Region", "DeliveryLogs"].contains(&name)
                || name
                    .strip_suffix(".Arn")
                    .is_some_and(|alarm| type_of(alarm) == Some("AWS::CloudWatch::Alarm"))
                // A function's name, for its log group.
                || type_of(name) == Some("AWS::Serverless::Function"),
            "${{{name}}} in the dashboard"
        );
        text.replace_range(start..=end, "x");
    }
    let body: serde_json::Value = serde_json::from_str(&text).expect("the body is JSON");
    let mut drawn = BTreeSet::new();
    for widget in body["widgets"].as_array().unwrap() {
        for line in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let line = line.as_array().unwrap();
            match line[0].as_str() {
                Some(namespace) => {
                    assert_eq!(namespace, NAMESPACE);
                    assert_eq!(line[2], "Stack", "{line:?}");
                    drawn.insert(line[1].as_str().unwrap().to_owned());
                }
                None => {
                    let search = line[0]["expression"].as_str().unwrap();
                    let name = search.split("MetricName=\"").nth(1).unwrap();
                    assert!(search.starts_with(&format!("SEARCH('{{{NAMESPACE},Stack,")));
                    drawn.insert(name.split('"').next().unwrap().to_owned());
                }
            }
        }
    }
    let every: BTreeSet<String> = NAMES.iter().map(|n| n.to_string()).collect();
    assert_eq!(drawn, every, "the dashboard draws every metric");
    // The table by region reads the logs of the functions that write
    // sends, logins and deliveries.
    let table = body["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["type"] == "log")
        .expect("a table by region");
    let query = table["properties"]["query"].as_str().unwrap();
    for (source, field) in [
        ("PhoneEnterFunction", "CodesSent"),
        ("CodeEnterFunction", "Logins"),
        ("SmsDeliveryFunction", "SmsDelivered"),
    ] {
        // The delivery function's source is the DeliveryLogs variable.
        let read = format!("SOURCE '/aws/lambda/${{{source}}}'");
        assert!(
            body_text.contains(&read) || source == "SmsDeliveryFunction",
            "{source}"
        );
        assert!(query.contains(&format!("sum({field})")), "{field}");
    }
    assert!(body_text.contains("' ${DeliveryLogs}| filter"));

    // A region's delivery: one Metrics Insights query, each region a
    // contributor, the share failed against a parameter.
    let alarm = &doc["Resources"]["SmsDeliveryAlarm"]["Properties"];
    let query = &alarm["Metrics"][0]["Expression"];
    let Value::Tagged(query) = query else {
        panic!("the query is a !Sub")
    };
    let query = query.value.as_str().unwrap();
    assert_eq!(
        query,
        "SELECT AVG(SmsFailed) FROM SCHEMA(PhoneAuth, Region, Stack) \
         WHERE Stack = '${AWS::StackName}' GROUP BY Region"
    );
    assert!(NAMES.contains(&"SmsFailed"));
    assert_eq!(
        tagged_ref(&alarm["Threshold"]),
        Some("SmsDeliveryAlarmFailedShare")
    );
    assert_eq!(tagged_ref(&alarm["AlarmActions"][0]), Some("AlarmTopic"));
}

/// Deletions and phone changes are finished on the users table's stream:
/// its removals of user items, and the updates that mark a phone change,
/// each failure retried from where it failed.
#[test]
fn the_cleanup_function_reads_the_users_table_s_removals() {
    let doc = template();
    let table = &doc["Resources"]["UsersTable"]["Properties"];
    assert_eq!(
        table["StreamSpecification"]["StreamViewType"].as_str(),
        Some("NEW_AND_OLD_IMAGES")
    );
    let function = &doc["Resources"]["AccountCleanupFunction"];
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"].as_str(),
        Some("account-cleanup")
    );
    let event = &function["Properties"]["Events"]["Deleted"];
    assert_eq!(event["Type"].as_str(), Some("DynamoDB"));
    let properties = &event["Properties"];
    let Value::Tagged(stream) = &properties["Stream"] else {
        panic!("the stream is a !GetAtt")
    };
    assert_eq!(stream.value.as_str(), Some("UsersTable.StreamArn"));
    assert_eq!(
        properties["FunctionResponseTypes"][0].as_str(),
        Some("ReportBatchItemFailures")
    );
    let pattern = properties["FilterCriteria"]["Filters"][0]["Pattern"]
        .as_str()
        .unwrap();
    let pattern: serde_json::Value = serde_json::from_str(pattern).unwrap();
    assert_eq!(pattern["eventName"], serde_json::json!(["REMOVE"]));
    assert_eq!(
        pattern["dynamodb"]["Keys"]["pk"]["S"],
        serde_json::json!([{ "prefix": "user#" }])
    );
    // The phone change's mark, by the name the store writes.
    let pattern = properties["FilterCriteria"]["Filters"][1]["Pattern"]
        .as_str()
        .unwrap();
    let pattern: serde_json::Value = serde_json::from_str(pattern).unwrap();
    assert_eq!(pattern["eventName"], serde_json::json!(["MODIFY"]));
    assert_eq!(
        pattern["dynamodb"]["Keys"]["pk"]["S"],
        serde_json::json!([{ "prefix": "user#" }])
    );
    let pending = phone_auth::adapters::dynamodb::PHONE_PENDING;
    assert_eq!(
        pattern["dynamodb"]["NewImage"][pending],
        serde_json::json!({ "BOOL": [true] })
    );
}

fn workflow(name: &str) -> Value {
    let path = format!("{}/../.github/workflows/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn deploys_wait_for_ci_on_the_same_commit() {
    let ci = workflow("ci.yml");
    let deploy = workflow("deploy.yml");
    // ci runs on every push to main, which deploy follows.
    let pushed = ci["on"]["push"]["branches"].as_sequence().unwrap();
    assert!(pushed.iter().any(|b| b.as_str() == Some("main")));

    let triggers = deploy["on"].as_mapping().unwrap();
    assert_eq!(
        triggers
            .keys()
            .map(|k| k.as_str().unwrap())
            .collect::<Vec<_>>(),
        ["workflow_run"],
        "a push or a manual run would deploy without ci"
    );
    let run = &deploy["on"]["workflow_run"];
    assert_eq!(run["workflows"][0].as_str(), ci["name"].as_str());
    assert_eq!(run["types"][0].as_str(), Some("completed"));
    assert_eq!(run["branches"][0].as_str(), Some("main"));

    let job = &deploy["jobs"]["deploy"];
    let condition = job["if"].as_str().unwrap_or_default();
    assert!(
        condition.contains("github.event.workflow_run.conclusion == 'success'"),
        "{condition}"
    );
    let checkout = job["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout"))
        })
        .expect("a checkout step");
    assert_eq!(
        checkout["with"]["ref"].as_str(),
        Some("${{ github.event.workflow_run.head_sha }}"),
        "deploy the commit ci tested"
    );
}

/// SNS's delivery logs reach the delivery function: the stack turns the
/// logging on (its custom resource, with the role SNS writes as), and the
/// function is subscribed to both of the groups SNS writes.
#[test]
fn sns_delivery_logs_reach_the_delivery_function() {
    let doc = template();
    let resources = &doc["Resources"];
    let get_att = |value: &Value| match value {
        Value::Tagged(t) if t.tag == "!GetAtt" => t.value.as_str().map(str::to_owned),
        _ => None,
    };
    let logging = &resources["SmsDeliveryLogging"]["Properties"];
    assert_eq!(
        get_att(&logging["ServiceToken"]).as_deref(),
        Some("SmsDeliveryFunction.Arn")
    );
    assert_eq!(
        get_att(&logging["DeliveryStatusRole"]).as_deref(),
        Some("SmsDeliveryStatusRole.Arn")
    );
    let trust = &resources["SmsDeliveryStatusRole"]["Properties"]["AssumeRolePolicyDocument"];
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"].as_str(),
        Some("sns.amazonaws.com")
    );
    let events = &resources["SmsDeliveryFunction"]["Properties"]["Events"];
    for (event, group, suffix) in [
        (
            "Delivered",
            "SmsDeliveredLogGroup",
            "DirectPublishToPhoneNumber",
        ),
        (
            "Failed",
            "SmsFailedLogGroup",
            "DirectPublishToPhoneNumber/Failure",
        ),
    ] {
        assert_eq!(events[event]["Type"].as_str(), Some("CloudWatchLogs"));
        let properties = &events[event]["Properties"];
        assert_eq!(tagged_ref(&properties["LogGroupName"]), Some(group));
        assert_eq!(properties["FilterPattern"].as_str(), Some(""));
        let Value::Tagged(name) = &resources[group]["Properties"]["LogGroupName"] else {
            panic!("{group}'s name is a !Sub")
        };
        let expected = format!("sns/${{AWS::Region}}/${{AWS::AccountId}}/{suffix}");
        assert_eq!(name.value.as_str(), Some(expected.as_str()));
    }
}
