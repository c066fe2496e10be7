//! Request authentication that must run per request, as [`super::RequestDecorator`]s:
//!
//! - [`credentials_file`]: `basic_auth`/`authorization` whose secret is a file, read for
//!   every request (as Prometheus does), so rotating it needs no reload;
//! - [`oauth2`]: client-credentials tokens, cached and refreshed;
//! - [`sigv4`]: AWS Signature V4 over the final request, with [`aws_credentials`] resolving
//!   keys and region like the AWS SDKs.
//!
//! [`secret`] is where a credential comes from (inline or a file); [`authorization`] builds
//! the (sensitive) header values; [`userinfo`] takes credentials off URLs and redacts them.

pub mod authorization;
pub mod aws_credentials;
pub mod credentials_file;
pub mod oauth2;
pub mod secret;
pub mod sigv4;
pub mod userinfo;
